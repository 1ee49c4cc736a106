"""Business lines (业务条线) that questions are filed under; codes are stable, names are shown."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from qa.extensions import db

# (code, name, parent code): the reference list, kept in sync by services.setup.sync_categories().
CATEGORIES: list[tuple[str, str, str | None]] = [
    ("criminal", "刑事检察", None),
    ("criminal_ordinary", "普通犯罪", "criminal"),
    ("criminal_major", "重大犯罪", "criminal"),
    ("criminal_economic", "经济犯罪", "criminal"),
    ("criminal_duty", "职务犯罪", "criminal"),
    ("civil", "民事检察", None),
    ("administrative", "行政检察", None),
    ("public_interest", "公益诉讼检察", None),
    ("juvenile", "未成年人检察", None),
    ("enforcement", "刑事执行检察", None),
    ("petition", "控告申诉检察", None),
    ("investigation", "检察侦查", None),
    ("case_management", "案件管理", None),
    ("general", "综合（法律政策、检察理论等）", None),
]


class Category(db.Model):
    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    position: Mapped[int] = mapped_column(default=0)

    def covered_by(self, speciality: str) -> bool:
        """True when an expert with this speciality covers questions of this category."""
        return speciality in (self.code, self.parent_code)

    @property
    def full_name(self) -> str:
        parent = dict((c, n) for c, n, _ in CATEGORIES).get(self.parent_code or "")
        return f"{parent}·{self.name}" if parent else self.name

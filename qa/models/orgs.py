"""Procuratorates: the four-level tree that drives routing and statistics."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db

LEVEL_NAMES = {1: "最高人民检察院", 2: "省级院", 3: "市级院/分院", 4: "基层院"}


class Procuratorate(db.Model):
    __tablename__ = "procuratorate"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("procuratorate.id"), index=True)

    parent: Mapped[Procuratorate | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Procuratorate]] = relationship(back_populates="parent", order_by="Procuratorate.code")

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, "")

    def ancestors(self) -> list[Procuratorate]:
        """Parent, grandparent, ... up to the root (nearest first)."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def __repr__(self) -> str:
        return f"<Procuratorate {self.code} {self.name}>"

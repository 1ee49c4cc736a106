"""Answers, their quality ratings and canonical (authoritative) versions."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db
from qa.models.categories import Category
from qa.models.questions import Question
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import User

RATING_CRITERIA = {
    "accuracy": "准确性",
    "basis": "依据",
    "relevance": "针对性",
    "clarity": "规范性",
}
DISCLAIMER = "以上意见仅供参考"
# Authority tier of every answer, with its standard wording.
AUTHORITY_TIERS = {"personal": "个人意见仅供参考", "reviewed": "经业务部门审核", "canonical": "权威答复"}
CANONICAL_STATUSES = {"in_force": "现行有效", "superseded": "已被替代", "withdrawn": "已撤回"}


class Answer(db.Model):
    __tablename__ = "answer"
    __table_args__ = (Index("uq_answer_author_submission", "author_id", "submission_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    author_org_id: Mapped[int] = mapped_column(ForeignKey("procuratorate.id"))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    submission_key: Mapped[str | None] = mapped_column(String(64))  # the expert's one-time form/API key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Never deleted: hidden with a reason (moderators still see it).
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    # 经业务部门审核: marked reviewed by a moderator or admin.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    question: Mapped[Question] = relationship(back_populates="answers", foreign_keys=[question_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    ratings: Mapped[list[Rating]] = relationship(back_populates="answer", order_by="Rating.id")
    canonical: Mapped[CanonicalAnswer | None] = relationship(back_populates="answer", uselist=False)

    @property
    def is_canonical(self) -> bool:
        return self.canonical is not None and self.canonical.status == "in_force"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def authority_tier(self) -> str:
        """personal (default), reviewed, or canonical (a canonical answer in force made from it)."""
        if self.is_canonical:
            return "canonical"
        return "reviewed" if self.reviewed_at is not None else "personal"

    @property
    def tier_name(self) -> str:
        return AUTHORITY_TIERS[self.authority_tier]

    @property
    def rating_count(self) -> int:
        return len(self.ratings)

    @property
    def rating_average(self) -> float | None:
        """Mean of the four criteria over all ratings, one decimal; None when unrated."""
        if not self.ratings:
            return None
        total = sum(r.total for r in self.ratings)
        return round(total / (4 * len(self.ratings)), 1)


class Rating(db.Model):
    """质量评定 by a moderator: four criteria, 1-5 each; a comment is required for any score ≤ 2."""

    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("answer_id", "rater_id", name="uq_rating_answer_rater"),
        *(CheckConstraint(f"{c} BETWEEN 1 AND 5", name=f"{c}_range") for c in RATING_CRITERIA),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"), index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    accuracy: Mapped[int]
    basis: Mapped[int]
    relevance: Mapped[int]
    clarity: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    answer: Mapped[Answer] = relationship(back_populates="ratings")
    rater: Mapped[User] = relationship()

    @property
    def total(self) -> int:
        return self.accuracy + self.basis + self.relevance + self.clarity


class CanonicalAnswer(db.Model):
    """权威答复: an admin's curated text made from an answer, entered into the knowledge base."""

    __tablename__ = "canonical_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id"), unique=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    text_md: Mapped[str] = mapped_column(Text)
    text_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="in_force")  # in_force/superseded/withdrawn
    effective_date: Mapped[date | None]
    curated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The editorial record (qa/services/knowledge.py): title, legal basis, business line and topic.
    title: Mapped[str] = mapped_column(String(120), default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"), index=True)
    topic: Mapped[str] = mapped_column(String(40), default="", index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("canonical_answer.id"))
    status_note: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    answer: Mapped[Answer] = relationship(back_populates="canonical")
    curated_by: Mapped[User] = relationship()
    successor: Mapped[CanonicalAnswer | None] = relationship(remote_side=[id], foreign_keys=[superseded_by_id])
    question: Mapped[Question] = relationship(foreign_keys=[question_id])
    category: Mapped[Category | None] = relationship()
    source_answers: Mapped[list[Answer]] = relationship(secondary="canonical_source", order_by="Answer.id",
                                                        viewonly=True)

    @property
    def status_name(self) -> str:
        return CANONICAL_STATUSES.get(self.status, self.status)

    @property
    def display_title(self) -> str:
        return self.title or self.question.title

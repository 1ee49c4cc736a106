"""Questions: the number for life, tags, supplements and expert assignments."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db
from qa.models.categories import Category
from qa.models.orgs import Procuratorate
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import User

STATUS_NAMES = {
    "pending": "待分派",
    "assigned": "办理中",
    "answered": "已答复",
    "resolved": "已办结",
    "closed": "已关闭",
}
OPEN_STATUSES = ("pending", "assigned")
CLOSE_REASONS = {
    "duplicate": "重复问题",
    "withdrawn": "提问人撤回",
    "facts": "涉及事实认定，不予解答",
    "classified": "涉及涉密内容",
}


class QuestionCounter(db.Model):
    """Last sequence number used per originating procuratorate and year (gap-free numbering)."""

    __tablename__ = "question_counter"

    org_id: Mapped[int] = mapped_column(ForeignKey("procuratorate.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


question_tag = Table(
    "question_tag",
    db.metadata,
    Column("question_id", ForeignKey("question.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id"), primary_key=True),
)


class Tag(db.Model):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)


class Question(db.Model):
    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "seq", name="uq_question_org_year_seq"),
        Index("ix_question_status_created", "status", "created_at"),
        # A retried or double-clicked submission carries the same key and finds this row (no duplicate).
        Index("uq_question_asker_submission", "asker_id", "submission_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("procuratorate.id"), index=True)  # originating
    year: Mapped[int]
    seq: Mapped[int]
    asker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    submission_key: Mapped[str | None] = mapped_column(String(64))  # the asker's one-time form/API key
    status: Mapped[str] = mapped_column(String(16), default="pending")
    case_deadline: Mapped[date | None]
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first answer
    # No foreign key: question and answer would refer to each other; services keep it consistent.
    accepted_answer_id: Mapped[int | None]
    close_reason: Mapped[str | None] = mapped_column(String(30))  # CLOSE_REASONS
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # A duplicate keeps its number; /q/<number> redirects to this thread.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"), index=True)

    org: Mapped[Procuratorate] = relationship()
    asker: Mapped[User] = relationship(foreign_keys=[asker_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    duplicate_of: Mapped[Question | None] = relationship(remote_side=[id], foreign_keys=[duplicate_of_id])
    category: Mapped[Category] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=question_tag, order_by="Tag.name")
    supplements: Mapped[list[Supplement]] = relationship(
        back_populates="question", order_by="Supplement.id", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="question", order_by="Assignment.id", cascade="all, delete-orphan"
    )
    answers: Mapped[list[Answer]] = relationship(  # noqa: F821 - defined in answers.py
        back_populates="question",
        foreign_keys="Answer.question_id",
        order_by="Answer.id",
        cascade="all, delete-orphan",
    )

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)

    @property
    def close_reason_name(self) -> str:
        return CLOSE_REASONS.get(self.close_reason or "", self.close_reason or "")

    @property
    def active_assignment(self) -> Assignment | None:
        return next((a for a in self.assignments if a.active and a.is_lead), None)

    @property
    def assignee(self) -> User | None:
        a = self.active_assignment
        return a.expert if a else None

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Derived: open and past its due date."""
        now = now or utcnow()
        return self.status in OPEN_STATUSES and self.due_at is not None and self.due_at < now

    def __repr__(self) -> str:
        return f"<Question {self.number}>"


class Supplement(db.Model):
    """补充说明: information the asker adds after posting."""

    __tablename__ = "supplement"
    __table_args__ = (Index("uq_supplement_author_submission", "author_id", "submission_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submission_key: Mapped[str | None] = mapped_column(String(64))  # the asker's one-time form key

    question: Mapped[Question] = relationship(back_populates="supplements")
    author: Mapped[User] = relationship()


class Assignment(db.Model):
    """An expert's responsibility for a question; ended, never deleted, when it moves on."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_expert_active", "expert_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("procuratorate.id"))  # the expert's, at the time
    is_lead: Mapped[bool] = mapped_column(default=True)  # 主办
    active: Mapped[bool] = mapped_column(default=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship(back_populates="assignments")
    expert: Mapped[User] = relationship(foreign_keys=[expert_id])
    org: Mapped[Procuratorate] = relationship()

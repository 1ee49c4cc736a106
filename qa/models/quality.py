"""Quality: rating history, helpful votes, user flags and revisions of questions, answers and canonical texts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import User

FLAG_KINDS = {"wrong_law": "引用法律错误", "outdated": "内容已过时", "abusive": "不当言论"}
FLAG_STATUSES = {"open": "待处理", "upheld": "属实，已处理", "dismissed": "不属实，已驳回"}
REVISION_KINDS = {"question": "问题", "answer": "答复", "canonical": "权威答复"}


class RatingRevision(db.Model):
    """An earlier version of a moderator's rating, kept when the moderator revises it."""

    __tablename__ = "rating_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id", ondelete="CASCADE"), index=True)
    accuracy: Mapped[int]
    basis: Mapped[int]
    relevance: Mapped[int]
    clarity: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was given
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)  # why it was revised

    @property
    def total(self) -> int:
        return self.accuracy + self.basis + self.relevance + self.clarity


class HelpfulVote(db.Model):
    """有用: one per user per answer, never on one's own answer."""

    __tablename__ = "helpful_vote"
    __table_args__ = (UniqueConstraint("answer_id", "user_id", name="uq_helpful_vote_answer_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerFlag(db.Model):
    """A user's report on an answer (wrong law cited, outdated, abusive) for the moderation queue."""

    __tablename__ = "answer_flag"
    __table_args__ = (
        UniqueConstraint("answer_id", "reporter_id", "kind", name="uq_answer_flag_answer_reporter_kind"),
        Index("ix_answer_flag_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handling_note: Mapped[str | None] = mapped_column(Text)

    answer: Mapped[Answer] = relationship()  # noqa: F821 - qa.models.answers
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])

    @property
    def kind_name(self) -> str:
        return FLAG_KINDS.get(self.kind, self.kind)

    @property
    def status_name(self) -> str:
        return FLAG_STATUSES.get(self.status, self.status)


class Revision(db.Model):
    """One version of a question, answer or canonical text: version 1 is the original.

    Written when the text is edited (the original is kept as version 1 at the first edit), with the
    author of that version, its time and the reason given for the change.
    """

    __tablename__ = "revision"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id", "version", name="uq_revision_object_version"),
        CheckConstraint("object_type IN ('question', 'answer', 'canonical')", name="object_type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(12))
    object_id: Mapped[int]
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    title: Mapped[str | None] = mapped_column(String(120))  # questions and canonical answers
    body_md: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")

    author: Mapped[User] = relationship()

    @property
    def kind_name(self) -> str:
        return REVISION_KINDS.get(self.object_type, self.object_type)

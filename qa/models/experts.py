"""The expert pool and question handling: profiles, escalations, deadline reminders and follows."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db
from qa.models.orgs import Procuratorate
from qa.models.questions import Assignment, Question
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import User

DEFAULT_CAPACITY = 10  # open questions at once, for experts without a profile row


class ExpertProfile(db.Model):
    """An expert's place in the pool (答疑专家库): capacity, leave and term of appointment.

    Experts without a row take the defaults: capacity DEFAULT_CAPACITY, no leave, no term limits.
    """

    __tablename__ = "expert_profile"
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity_non_negative"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    capacity: Mapped[int] = mapped_column(default=DEFAULT_CAPACITY)
    leave_until: Mapped[date | None]  # on leave up to and including this day (China time)
    term_start: Mapped[date | None]  # appointed from this day
    term_end: Mapped[date | None]  # up to and including this day
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def available_on(self, day: date) -> bool:
        """In term and not on leave on `day`."""
        if self.term_start is not None and day < self.term_start:
            return False
        if self.term_end is not None and day > self.term_end:
            return False
        return self.leave_until is None or day > self.leave_until


class ExpertTag(db.Model):
    """A finer speciality (e.g. 认罪认罚) within an expert's business lines; prefers matching questions."""

    __tablename__ = "expert_tag"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(30), primary_key=True)


class Escalation(db.Model):
    """提请上级: a question handed to the next level up, at an expert's request or when overdue."""

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    # The assignment that was ended; unique, so the same overdue assignment is never escalated twice.
    from_assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), unique=True)
    from_org_id: Mapped[int] = mapped_column(ForeignKey("procuratorate.id"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("procuratorate.id"))
    kind: Mapped[str] = mapped_column(String(16))  # requested | overdue
    urgent: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the sweep
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_org: Mapped[Procuratorate] = relationship(foreign_keys=[from_org_id])
    to_org: Mapped[Procuratorate] = relationship(foreign_keys=[to_org_id])


class DeadlineReminder(db.Model):
    """What the deadline sweep already did for an assignment (reminders, overdue): never twice."""

    __tablename__ = "deadline_reminder"
    __table_args__ = (UniqueConstraint("assignment_id", "kind", name="uq_deadline_reminder_assignment_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # before:3d, before:1d, overdue
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingReminder(db.Model):
    """What the deadline sweep already told the admins about a question nobody could take (pending):
    its answer nears or passed the date promised at asking. Once per question and kind, for life."""

    __tablename__ = "pending_reminder"
    __table_args__ = (UniqueConstraint("question_id", "kind", name="uq_pending_reminder_question_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # before:3d, before:1d, overdue
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(db.Model):
    """关注: a user is told of new answers and canonical answers on a question or a business line."""

    __tablename__ = "follow"
    __table_args__ = (
        UniqueConstraint("user_id", "question_id", name="uq_follow_user_question"),
        UniqueConstraint("user_id", "category_code", name="uq_follow_user_category"),
        CheckConstraint("(question_id IS NULL) <> (category_code IS NULL)", name="one_target"),
        Index("ix_follow_category", "category_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The deadline sweep looks for open questions by due date (defined here, beside the sweep's tables).
Index("ix_question_status_due", Question.status, Question.due_at)
# At most one responsible expert (主办) per question, even when two handlers race.
# (Literal per-dialect conditions, so that Alembic renders each one right in the migration.)
Index("uq_assignment_one_active_lead", Assignment.question_id, unique=True,
      sqlite_where=text("active = 1 AND is_lead = 1"), postgresql_where=text("active AND is_lead"))

"""The record of what happened: audit events, notifications and search-index tasks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db
from qa.models.orgs import Procuratorate
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import User


class AuditEvent(db.Model):
    """Append-only: who did what, when, to which object and question number, from where.

    Rows are written in the same transaction as the change they describe and never updated or
    deleted (database triggers refuse both). Each row carries the hash of the row before it and its
    own hash (qa/models/audit_chain.py), so `flask audit verify` can prove nothing was rewritten.
    The question's handling trail (办理轨迹) is read from these rows.
    """

    __tablename__ = "audit_event"
    # One successor per row: a forked chain (two writers linking to the same row) cannot commit.
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_event_prev_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)  # None: system
    actor_roles: Mapped[str] = mapped_column(String(60), default="")
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("procuratorate.id"))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(40))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"), index=True)
    question_number: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))  # row_hash of the row before ("0" * 64 first)
    row_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 over this row's content and prev_hash

    actor: Mapped[User | None] = relationship()
    actor_org: Mapped[Procuratorate | None] = relationship()


class Notification(db.Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question | None] = relationship()  # noqa: F821


class IndexTask(db.Model):
    """Search-index outbox: written with the change, consumed by the single index writer."""

    __tablename__ = "index_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(index=True)  # no FK: a task may outlive its row
    op: Mapped[str] = mapped_column(String(10), default="upsert")  # upsert | delete
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

"""Knowledge base curation: the answers merged into a canonical answer, and 集萃 batches of canonical items."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import User

BATCH_STATUSES = {"draft": "草稿", "published": "已发布"}


class CanonicalSource(db.Model):
    """An answer whose text went into a canonical answer (a curated text may merge several)."""

    __tablename__ = "canonical_source"

    canonical_id: Mapped[int] = mapped_column(ForeignKey("canonical_answer.id", ondelete="CASCADE"),
                                              primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id"), primary_key=True, index=True)


class Batch(db.Model):
    """检答集萃第N批: the number is given when the batch is published and never changes afterwards."""

    __tablename__ = "batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int | None] = mapped_column(unique=True)  # N, set on publishing
    title: Mapped[str] = mapped_column(String(120), default="")
    editor_note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[BatchItem]] = relationship(back_populates="batch", order_by="BatchItem.position",
                                                  cascade="all, delete-orphan")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def label(self) -> str:
        return f"检答集萃第{self.number}批" if self.number else "检答集萃（草稿）"


class BatchItem(db.Model):
    """问题K of a batch: a de-identifiable copy of a canonical answer, frozen when the batch is published."""

    __tablename__ = "batch_item"
    __table_args__ = (
        UniqueConstraint("batch_id", "number", name="uq_batch_item_batch_number"),
        UniqueConstraint("batch_id", "canonical_id", name="uq_batch_item_batch_canonical"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    canonical_id: Mapped[int] = mapped_column(ForeignKey("canonical_answer.id"))
    position: Mapped[int] = mapped_column(default=0)  # order while a draft
    number: Mapped[int | None]  # K, set on publishing
    title: Mapped[str] = mapped_column(String(120))
    question_md: Mapped[str] = mapped_column(Text)
    answer_md: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    deidentified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="items")
    canonical: Mapped[CanonicalAnswer] = relationship()  # noqa: F821 - qa.models.answers
    # 勘误: after publishing, the item's own texts stay as published; corrections supersede them.
    corrections: Mapped[list[BatchCorrection]] = relationship(back_populates="item", order_by="BatchCorrection.version",
                                                              cascade="all, delete-orphan")

    @property
    def current(self) -> BatchCorrection | None:
        """The correction in force (the latest), or None when the published text stands."""
        return self.corrections[-1] if self.corrections else None

    @property
    def current_answer_md(self) -> str:
        return self.current.answer_md if self.current else self.answer_md

    @property
    def current_legal_basis(self) -> str:
        return self.current.legal_basis if self.current else self.legal_basis

    @property
    def citation(self) -> str:
        """The stable citation 「检答集萃第N批·问题K」 (only once published)."""
        if self.batch.number is None or self.number is None:
            return ""
        return f"检答集萃第{self.batch.number}批·问题{self.number}"


class BatchCorrection(db.Model):
    """A correction (勘误) of a published item, version 1, 2 …: the answer and legal basis as corrected,
    with the editor's note. The published text and earlier corrections stay readable as superseded."""

    __tablename__ = "batch_correction"
    __table_args__ = (UniqueConstraint("item_id", "version", name="uq_batch_correction_item_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("batch_item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    answer_md: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[BatchItem] = relationship(back_populates="corrections")
    created_by: Mapped[User] = relationship()

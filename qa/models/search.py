"""Search support: statute citations, imported-thread provenance, admin dictionary additions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qa.extensions import db
from qa.models.types import UTCDateTime, utcnow


class Citation(db.Model):
    """A statute article cited in a question, supplement, answer or canonical text (normalized).

    Written in the same transaction as the text; `law` is the normalized name (刑法), `article`
    the number (264) and `sub` the 之N suffix (133-1 → article 133, sub 1).
    """

    __tablename__ = "citation"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", "law", "article", "sub", name="uq_citation_source_article"),
        Index("ix_citation_law_article", "law", "article", "sub"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    source_type: Mapped[str] = mapped_column(String(12))  # question | supplement | answer | canonical
    source_id: Mapped[int]
    law: Mapped[str] = mapped_column(String(120))
    article: Mapped[int]
    sub: Mapped[int] = mapped_column(default=0)
    raw: Mapped[str] = mapped_column(String(200))  # the first spelling seen, e.g. 刑法第264条


class ThreadSource(db.Model):
    """Where an imported thread came from: 集萃第N批·问题K, or a line of an archive file.

    Imported threads are asked and answered by placeholder accounts (inactive, no password, in the
    placeholder procuratorate 外部导入); the real asker and expert names are kept here.
    """

    __tablename__ = "thread_source"

    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # jicui | archive
    ref: Mapped[str] = mapped_column(String(80), unique=True)  # jicui:12:1, archive:<sha1>
    label: Mapped[str] = mapped_column(String(120))  # 集萃第12批·问题1
    asker_label: Mapped[str] = mapped_column(String(200), default="")  # 福建省莆田市秀屿区检察院 蔡宇翔
    experts: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchTerm(db.Model):
    """An admin's addition to the packaged legal dictionary (kind=term) or synonym table (kind=synonym)."""

    __tablename__ = "search_term"
    __table_args__ = (UniqueConstraint("kind", "word", name="uq_search_term_kind_word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    word: Mapped[str] = mapped_column(String(60))
    expansion: Mapped[str] = mapped_column(Text, default="")  # synonyms: legal terms, space separated
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

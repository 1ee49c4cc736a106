"""Statute texts loaded by `flask import laws`: laws and their articles (第X条)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa.extensions import db


class Law(db.Model):
    """A statute or judicial interpretation, keyed by its normalized name (e.g. 刑法, 刑事诉讼法)."""

    __tablename__ = "law"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)  # normalized: no 中华人民共和国, no date
    title: Mapped[str] = mapped_column(String(200))  # as published, e.g. 中华人民共和国刑法
    version: Mapped[str] = mapped_column(String(20), default="")  # date in the file name, if any
    group: Mapped[str] = mapped_column(String(40), default="")  # folder: 刑法, 司法解释 ...

    articles: Mapped[list[LawArticle]] = relationship(back_populates="law", order_by="LawArticle.id",
                                                      cascade="all, delete-orphan")


class LawArticle(db.Model):
    """One article: number 133 and sub 1 for 第一百三十三条之一 (sub 0 for a plain article)."""

    __tablename__ = "law_article"
    __table_args__ = (UniqueConstraint("law_id", "number", "sub", name="uq_law_article_law_number_sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    law_id: Mapped[int] = mapped_column(ForeignKey("law.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    sub: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(30))  # 第一百三十三条之一
    text: Mapped[str] = mapped_column(Text)
    chapter: Mapped[str] = mapped_column(String(200), default="")

    law: Mapped[Law] = relationship(back_populates="articles")

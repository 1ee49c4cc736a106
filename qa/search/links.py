"""The `cite_links` template filter: statute citations in sanitized HTML become article links."""
from __future__ import annotations

from flask import g, has_request_context
from markupsafe import Markup
from sqlalchemy import select

from qa.extensions import db
from qa.models import Law, LawArticle, ThreadSource
from qa.search.citations import link_citations


def article_text(law: str, number: int, sub: int = 0) -> str | None:
    """The loaded text of an article, or None (cached for the request)."""
    cache = g.setdefault("_article_texts", {}) if has_request_context() else {}
    key = (law, number, sub)
    if key not in cache:
        cache[key] = db.session.execute(
            select(LawArticle.text).join(Law).where(Law.name == law, LawArticle.number == number,
                                                    LawArticle.sub == sub)
        ).scalar_one_or_none()
    return cache[key]


def cite_links(html) -> Markup:
    """Use as `{{ answer.body_html|cite_links }}` in place of `|safe` (the input is sanitized HTML)."""
    return link_citations(html, article_text=article_text)


def thread_source(question) -> ThreadSource | None:
    """Where an imported thread came from (集萃第N批·问题K), for the thread page."""
    return db.session.get(ThreadSource, question.id)

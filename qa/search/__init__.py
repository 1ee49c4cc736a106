"""Search: one interface (query, similar, outbox, rebuild, check) over two backends chosen by
QA_SEARCH_BACKEND: Whoosh + jieba (index.py, query.py; the embedded default) and SQLite FTS5
(sql_backend.py, sql_query.py; for large archives). Everything outside this package uses only the
names below.
"""
from __future__ import annotations

import logging

from flask import Flask, request

from qa.extensions import db
from qa.search.index import UNAVAILABLE, SearchUnavailable
from qa.search.query import Filters, SearchResults, run_search, similar_questions
from qa.search.worker import CheckReport, check_index, drain_outbox, pending_count, rebuild_index

log = logging.getLogger("qa.search")

__all__ = [
    "UNAVAILABLE", "CheckReport", "Filters", "SearchResults", "SearchUnavailable", "check_index", "drain_outbox", "init_app",
    "pending_count", "rebuild_index", "run_search", "similar_questions",
]


def init_app(app: Flask) -> None:
    """Template filter for statute links; in the embedded default, drain the outbox after writes."""
    from qa.search.links import cite_links, thread_source

    app.jinja_env.filters["cite_links"] = cite_links
    app.jinja_env.globals["thread_source"] = thread_source

    @app.after_request
    def drain_after_write(response):
        """Runs after the view's commit, in a session of its own, so only committed changes are
        indexed (a rolled-back request leaves nothing to index). Production sets
        QA_SEARCH_WRITER=worker: request workers then never write the index."""
        if request.method in ("GET", "HEAD", "OPTIONS") or app.config.get("QA_SEARCH_WRITER") != "inline":
            return response
        session = db.session()
        if session.new or session.dirty or session.deleted:
            return response  # never index around uncommitted work; the next write drains
        if session.in_transaction():
            session.rollback()  # end the request's read transaction (a stale SQLite snapshot)
        try:
            drain_outbox(app)
        except (OSError, SearchUnavailable):  # disk full, read-only, index lost: logged by the drain
            pass  # the tasks stay in the outbox; the worker, the next write or `search rebuild` retries
        except Exception:  # the tasks stay in the outbox; the next write or `search check` retries
            log.exception("search: draining the outbox after a write failed")
        return response

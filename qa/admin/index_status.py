"""Search-index status for the admin pages, and the progress file a running rebuild keeps up to date."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

PROGRESS_FILE = ".rebuild-progress.json"
STALE_AFTER = 120  # seconds without an update: the rebuild that wrote the file is gone


class RebuildProgress:
    """Wraps a progress callback (a CLI bar) and records done/total in the index folder for the admins."""

    def __init__(self, root: Path, total: int, inner: Callable[[int], None] | None = None):
        self.path = root / PROGRESS_FILE
        self.total = total
        self.done = 0
        self.inner = inner
        self.started = time.time()
        self._written = 0.0
        self._write()

    def __call__(self, step: int) -> None:
        self.done += step
        if self.inner is not None:
            self.inner(step)
        if time.time() - self._written >= 0.5:
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"done": self.done, "total": self.total, "started": self.started}))
        os.replace(tmp, self.path)
        self._written = time.time()

    def __enter__(self) -> RebuildProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def index_status() -> dict | None:
    """Documents, pending index tasks, when the live index was built, and a running rebuild's progress.

    None when search is not configured in this application.
    """
    try:
        from qa.search import pending_count
        from qa.search.index import CURRENT, get_searcher, index_root
    except ImportError:
        return None
    from qa.search.index import SearchUnavailable

    root = index_root()
    status: dict = {"documents": None, "pending": pending_count(), "built_at": None, "rebuild": None,
                    "error": None, "lag": None, "failed": 0, "last_error": None}
    try:
        from qa.search import sql_backend

        status["documents"] = (sql_backend.document_count() if sql_backend.enabled()
                               else get_searcher(root).doc_count())
    except SearchUnavailable as error:  # lost or damaged: the page says so, `search rebuild` repairs
        status["error"] = str(error)
    except Exception as error:  # unreadable for another reason
        status["error"] = f"检索索引无法读取：{error}"
    status.update(_backlog())
    live = root / CURRENT
    if live.exists():
        status["built_at"] = datetime.fromtimestamp((root / os.readlink(live)).stat().st_mtime, UTC)
    progress_path = root / PROGRESS_FILE
    try:
        progress = json.loads(progress_path.read_text())
        if time.time() - progress_path.stat().st_mtime < STALE_AFTER:
            total = max(int(progress["total"]), 1)
            progress["percent"] = min(100, round(100 * int(progress["done"]) / total))
            status["rebuild"] = progress
    except (OSError, ValueError, KeyError):
        pass
    return status


def _backlog() -> dict:
    """How far the index lags (the oldest waiting task) and the last write failure (disk full,
    read-only, index lost), read from the outbox so every process sees what the writer hit."""
    from sqlalchemy import func, select

    from qa.extensions import db
    from qa.models import IndexTask
    from qa.models.types import utcnow

    oldest = db.session.scalar(select(func.min(IndexTask.created_at)))
    failed = db.session.scalar(select(func.count(IndexTask.id)).where(IndexTask.attempts > 0)) or 0
    last_error = None
    if failed:
        last_error = db.session.scalar(select(IndexTask.last_error).where(IndexTask.attempts > 0)
                                       .order_by(IndexTask.id).limit(1))
    lag = round((utcnow() - oldest).total_seconds()) if oldest is not None else None
    return {"lag": lag, "failed": failed, "last_error": last_error}

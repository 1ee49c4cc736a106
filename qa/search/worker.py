"""The single index writer: drains the outbox, rebuilds beside the live index, checks and repairs."""
from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from whoosh.index import LockError

from qa.extensions import db
from qa.models import IndexTask
from qa.search import sql_backend
from qa.search.index import (
    SearchUnavailable,
    _process_lock,
    close_left_open,
    get_searcher,
    index_root,
    live_dir,
    load_documents,
    new_generation,
    open_live,
    remove_old_generations,
    searchable_ids,
    swap_live,
    writer_lock,
)
from qa.services.search_terms import sync_admin_entries

log = logging.getLogger("qa.search")
Progress = Callable[[int], None] | None


def _session() -> Session:
    """A session of its own: the index only ever sees committed data, never the caller's transaction."""
    return Session(db.engine, expire_on_commit=False)


def _apply(root: Path, docs: dict[int, dict | None]) -> None:
    """Write one batch with one commit; on any error abandon the writer (releasing its lock)."""
    if sql_backend.enabled():
        return sql_backend.apply(docs)
    ix = open_live(root)
    writer = ix.writer(timeout=30)
    try:
        for qid, doc in docs.items():
            if doc is None:
                writer.delete_by_term("id", str(qid))
            else:
                writer.update_document(**doc)
        writer.commit()
    except BaseException:
        _abandon(ix, writer)
        raise


def _abandon(ix, writer) -> None:
    """Cancel a failed writer. On a full disk cancel() itself fails while closing the segment and
    would keep MAIN_WRITELOCK (every later writer then times out), so finish it by hand; then delete
    the files the failed commit left behind (they hold the little space there is)."""
    try:
        writer.cancel()
    except Exception:
        try:
            writer._finish()  # whoosh: destroys the temp storage and releases the write lock
        except Exception:
            if getattr(writer.writelock, "fd", None) is not None:
                writer.writelock.release()
    try:
        from whoosh.index import TOC, clean_files

        toc = TOC.read(ix.storage, ix.indexname)
        clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
    except Exception:  # read-only: nothing was written either
        pass


class Backoff:
    """A process's memory of index-write failures: request drains pause for `QA_SEARCH_RETRY_SECONDS`
    after one, and the failure is logged at most once per interval (a full disk fails every try)."""

    def __init__(self) -> None:
        self.retry_at = 0.0
        self.logged_at = 0.0
        self.failing_since: float | None = None

    def waiting(self) -> bool:
        return time.monotonic() < self.retry_at

    def failed(self, error: BaseException, interval: float, pending: int) -> None:
        now = time.monotonic()
        self.failing_since = self.failing_since or now
        self.retry_at = now + interval
        if now - self.logged_at >= interval or not self.logged_at:
            self.logged_at = now
            code = errno.errorcode.get(getattr(error, "errno", None) or 0, type(error).__name__)
            log.error("search index write failed (%s): %s; %d tasks wait in the outbox, retrying every %.0f s",
                      code, error, pending, interval)

    def recovered(self) -> None:
        if self.failing_since is not None:
            log.warning("search index writes work again after %.0f s", time.monotonic() - self.failing_since)
        self.retry_at, self.logged_at, self.failing_since = 0.0, 0.0, None


def backoff(app) -> Backoff:
    return app.extensions.setdefault("qa_search_backoff", Backoff())


def drain_outbox(app=None, batch_size: int | None = None, progress: Progress = None,
                 blocking: bool = False) -> int:
    """Apply pending index tasks in batches; returns how many tasks were done.

    Tasks are deleted only after the index commit, so a crash in between replays them
    (updates are idempotent). Returns 0 at once when another process holds the writer lock
    (a rebuild or the worker): the tasks wait in the database.
    """
    from flask import current_app

    app = app or current_app
    state = backoff(app)
    if not blocking and state.waiting():
        return 0  # a recent write failed (disk full, read-only, index lost): the tasks wait
    root = index_root(app)
    batch_size = batch_size or app.config.get("QA_SEARCH_BATCH", 500)
    done = 0
    if not _process_lock.acquire(blocking=blocking):
        return 0
    try:
        with writer_lock(root, blocking=blocking) as locked:
            if not locked:
                return 0
            if not sql_backend.enabled(app):
                live_dir(root)  # raises SearchUnavailable when the index was lost: never recreated empty
            sync_admin_entries()
            while True:
                with _session() as session:
                    tasks = session.execute(
                        select(IndexTask.id, IndexTask.question_id).order_by(IndexTask.id).limit(batch_size)
                    ).all()
                    if not tasks:
                        break
                    ids = [t.id for t in tasks]
                    docs = load_documents(session, {t.question_id for t in tasks})
                    session.rollback()  # end the read before writing (SQLite: no lock upgrade)
                    _apply(root, docs)
                    session.execute(delete(IndexTask).where(IndexTask.id.in_(ids)))
                    session.commit()
                done += len(ids)
                if progress:
                    progress(len(ids))
    except (OSError, SearchUnavailable, LockError) as error:
        # ENOSPC, EROFS, EACCES, a lost or damaged index: the tasks stay, marked for the admin page.
        close_left_open(error, collect=True)
        pending = _mark_failed(error, batch_size)
        state.failed(error, app.config.get("QA_SEARCH_RETRY_SECONDS", 30), pending)
        raise
    finally:
        _process_lock.release()
    state.recovered()
    return done


def _mark_failed(error: BaseException, batch_size: int) -> int:
    """Count the attempt on the next batch of tasks (the admin page shows it); returns the backlog."""
    with _session() as session:
        ids = list(session.scalars(select(IndexTask.id).order_by(IndexTask.id).limit(batch_size)))
        if ids:
            session.execute(update(IndexTask).where(IndexTask.id.in_(ids)).values(
                attempts=IndexTask.attempts + 1, last_error=str(error)[:2000]))
            session.commit()
        return session.scalar(select(func.count(IndexTask.id))) or 0


def pending_count() -> int:
    with _session() as session:
        return session.scalar(select(func.count(IndexTask.id))) or 0


def run_worker(app, interval: float = 0.5, once: bool = False) -> None:
    """`flask search worker`: the production writer; polls the outbox and drains it."""
    while True:
        try:
            with app.app_context():
                drain_outbox(app, blocking=True)
        except (OSError, SearchUnavailable, LockError):  # logged by the drain, once per interval
            if once:
                raise
            time.sleep(app.config.get("QA_SEARCH_RETRY_SECONDS", 30))
        except Exception:
            log.exception("index worker: batch failed, retrying")
            time.sleep(5)
        if once:
            return
        time.sleep(interval)


# Rebuild -------------------------------------------------------------------------------------


def clear_tasks(ids: list[int]) -> None:
    """Delete outbox tasks a rebuild has covered (in chunks: a long list of ids overflows a statement)."""
    with _session() as session:
        for start in range(0, len(ids), 1000):
            session.execute(delete(IndexTask).where(IndexTask.id.in_(ids[start:start + 1000])))
        session.commit()


def rebuild_index(app=None, procs: int = 1, progress: Progress = None, batch: int = 500,
                  limitmb: int = 256) -> int:
    """Build a fresh index from the database beside the live one, then swap it in.

    Searches keep using the old index meanwhile. The outbox waits (it needs the writer lock) and
    is drained after the swap; the tasks seen at the start are covered by the rebuild and deleted.
    Returns the number of documents.
    """
    from flask import current_app

    app = app or current_app
    if sql_backend.enabled(app):
        return sql_backend.rebuild_index(app, procs=procs, progress=progress, batch=batch)
    root = index_root(app)
    count = 0
    with _process_lock, writer_lock(root, blocking=True):
        sync_admin_entries(force=True)
        with _session() as session:
            covered = list(session.scalars(select(IndexTask.id)))
            ids = searchable_ids(session)
        target = new_generation(root)
        ix = _open(target)
        kwargs = {"limitmb": limitmb}
        if procs > 1:
            kwargs.update(procs=procs, multisegment=True)
        writer = ix.writer(**kwargs)
        try:
            for start in range(0, len(ids), batch):
                chunk = ids[start:start + batch]
                with _session() as session:
                    docs = load_documents(session, chunk)
                for doc in docs.values():
                    if doc is not None:
                        writer.add_document(**doc)
                        count += 1
                if progress:
                    progress(len(chunk))
            writer.commit()
        except BaseException:
            _abandon(ix, writer)
            shutil.rmtree(target, ignore_errors=True)  # the live index stays as it was
            raise
        swap_live(root, target)
        remove_old_generations(root)
        clear_tasks(covered)
    drain_outbox(app, blocking=True)
    return count


def _open(path: Path):
    from whoosh import index as whoosh_index

    return whoosh_index.open_dir(str(path))


# Check -------------------------------------------------------------------------------------


@dataclass
class CheckReport:
    indexed: int = 0
    expected: int = 0
    missing: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def check_index(app=None, repair: bool = False, progress: Progress = None, batch: int = 500) -> CheckReport:
    """Compare the index with the database: missing, extra and stale documents (stale: the stored
    version differs from the document the database gives now). With repair, enqueue and drain."""
    from flask import current_app

    app = app or current_app
    root = index_root(app)
    report = CheckReport()
    if sql_backend.enabled(app):
        indexed = sql_backend.versions()
    else:
        indexed = {int(f["id"]): f.get("version") for f in get_searcher(root).all_stored_fields()}
    report.indexed = len(indexed)
    with _session() as session:
        ids = searchable_ids(session)
    report.expected = len(ids)
    expected_set = set(ids)
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        with _session() as session:
            docs = load_documents(session, chunk)
        for qid, doc in docs.items():
            if doc is None:
                continue
            if qid not in indexed:
                report.missing.append(qid)
            elif indexed[qid] != doc["version"]:
                report.stale.append(qid)
        if progress:
            progress(len(chunk))
    report.extra = sorted(set(indexed) - expected_set)
    if repair and not report.ok:
        with _session() as session:
            for qid in report.missing + report.stale + report.extra:
                session.add(IndexTask(question_id=qid, op="upsert"))
            session.commit()
        drain_outbox(app, blocking=True)
        report.repaired = True
    return report

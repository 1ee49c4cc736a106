"""The Whoosh index: schema, documents built from the database, storage, searchers and the writer."""
from __future__ import annotations

import fcntl
import gc
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import traceback
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from qa.models import Answer, Category, Citation, Question, ThreadSource
from qa.search.analysis import ANALYSIS_VERSION, ensure_ready, legal_analyzer
from qa.search.citations import statute_key

SEARCHABLE_STATUSES = ("answered", "resolved")
CURRENT = "current"  # symlink to the live generation directory
GENERATION = re.compile(r"^gen-(\d+)$")
MD_NOISE = re.compile(r"[#*_>`|\[\]]+")


UNAVAILABLE = "检索暂时不可用，管理员正在恢复检索索引，请稍后再试（提问、答复等功能不受影响）。"  # what users see
LOST = "检索索引丢失（索引目录已不存在），请执行 flask --app wsgi search rebuild 重建。"
TOC_NAME = re.compile(r"^_MAIN_(\d+)\.toc$")


class SearchUnavailable(Exception):
    """The index cannot be opened (missing, corrupt, unreadable): searches answer 503."""


def make_schema() -> Schema:
    analyzer = legal_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        number=ID(stored=True),
        version=STORED,
        title=TEXT(analyzer=analyzer, phrase=True),
        content=TEXT(analyzer=analyzer, phrase=True),
        category=KEYWORD(commas=True),  # own code and parent code
        tags=KEYWORD(commas=True, lowercase=True),
        statutes=KEYWORD(commas=True),  # 刑法:264, 刑法:133-1
        canonical=ID(stored=True),  # "1": an answer is canonical and in force
        superseded=ID(stored=True),  # "1": canonical answers exist, none in force
        imported=ID,
        status=ID,
        quality=NUMERIC(int, stored=True, sortable=True),  # tenths: 4.5 → 45
        asked=NUMERIC(int, bits=64, sortable=True),  # epoch seconds
        answered=NUMERIC(int, bits=64, sortable=True),
    )


# Documents --------------------------------------------------------------------------------


def visible_answers(question: Question) -> list[Answer]:
    """Answers a moderator has hidden are never indexed, matched or quoted in snippets."""
    return [a for a in question.answers if a.hidden_at is None]


def is_searchable(question: Question) -> bool:
    """Only threads with a visible answer are in the index; the same rule re-checks hits before display."""
    return question.status in SEARCHABLE_STATUSES and bool(visible_answers(question))


def plain(markdown_text: str) -> str:
    return MD_NOISE.sub(" ", markdown_text or "")


def thread_text(question: Question) -> str:
    """Question, supplements, answers and canonical texts as one plain text (also used for snippets)."""
    parts = [plain(question.body_md)]
    parts += [plain(s.body_md) for s in question.supplements]
    for answer in visible_answers(question):
        parts.append(plain(answer.body_md))
        if answer.canonical is not None and answer.canonical.text_md != answer.body_md:
            parts.append(plain(answer.canonical.text_md))
    return "\n".join(parts)


def quality_of(question: Question) -> float:
    """The best answer's mean rating (1–5), 0 when unrated."""
    averages = [a.rating_average for a in visible_answers(question) if a.rating_average is not None]
    return float(max(averages)) if averages else 0.0


def build_document(question: Question, statutes: Iterable[str], parents: dict[str, str | None],
                   imported: bool = False) -> dict:
    canonicals = [a.canonical for a in visible_answers(question) if a.canonical is not None]
    in_force = any(c.status == "in_force" for c in canonicals)
    category = {question.category_code}
    if parents.get(question.category_code):
        category.add(parents[question.category_code])
    doc = {
        "id": str(question.id),
        "number": question.number,
        "title": question.title,
        "content": f"{question.title}\n{thread_text(question)}",
        "category": ",".join(sorted(category)),
        "tags": ",".join(t.name for t in question.tags),
        "statutes": ",".join(sorted(set(statutes))),
        "canonical": "1" if in_force else "0",
        "superseded": "1" if canonicals and not in_force else "0",
        "imported": "1" if imported else "0",
        "status": question.status,
        "quality": round(quality_of(question) * 10),
        "asked": int(question.created_at.timestamp()),
        "answered": int((question.answered_at or question.created_at).timestamp()),
    }
    digest = hashlib.sha1(ANALYSIS_VERSION.encode())  # a new segmenter makes every document stale
    for key in sorted(doc):
        digest.update(f"{key}\x1f{doc[key]}\x1e".encode())
    doc["version"] = digest.hexdigest()[:16]
    return doc


def load_documents(session: Session, question_ids: Iterable[int]) -> dict[int, dict | None]:
    """question id → its document, or None when it is gone or not searchable (delete it)."""
    ids = list(question_ids)
    out: dict[int, dict | None] = dict.fromkeys(ids)
    if not ids:
        return out
    parents = dict(session.execute(select(Category.code, Category.parent_code)).all())
    questions = session.scalars(
        select(Question).where(Question.id.in_(ids)).options(
            selectinload(Question.answers).selectinload(Answer.canonical),
            selectinload(Question.answers).selectinload(Answer.ratings),
            selectinload(Question.supplements), selectinload(Question.tags),
        )
    ).all()
    statutes: dict[int, set[str]] = {}
    for qid, law, article, sub in session.execute(
        select(Citation.question_id, Citation.law, Citation.article, Citation.sub).where(Citation.question_id.in_(ids))
    ):
        statutes.setdefault(qid, set()).add(statute_key(law, article, sub))
    imported = set(session.scalars(select(ThreadSource.question_id).where(ThreadSource.question_id.in_(ids))))
    for question in questions:
        if is_searchable(question):
            out[question.id] = build_document(question, statutes.get(question.id, ()), parents,
                                              question.id in imported)
    return out


def searchable_ids(session: Session) -> list[int]:
    has_answer = select(Answer.id).where(Answer.question_id == Question.id, Answer.hidden_at.is_(None)).exists()
    stmt = select(Question.id).where(Question.status.in_(SEARCHABLE_STATUSES), has_answer).order_by(Question.id)
    return list(session.scalars(stmt))


# Storage ------------------------------------------------------------------------------------


def index_root(app=None) -> Path:
    app = app or current_app
    configured = app.config.get("QA_SEARCH_INDEX_DIR")
    root = Path(configured) if configured else Path(app.instance_path) / "search_index"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _generations(root: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in root.iterdir() if (m := GENERATION.match(p.name)))


def built_marker(root: Path) -> Path:
    """A file beside the index folder, written once an index exists: it survives `rm -rf` of the
    folder, so a lost index is told apart from a fresh instance that never had one."""
    return root.parent / f".{root.name}.built"


def _mark_built(root: Path) -> None:
    marker = built_marker(root)
    if marker.exists():
        return
    try:
        marker.write_text("检索索引已建立；若索引目录丢失，请执行 flask --app wsgi search rebuild。\n", encoding="utf-8")
    except OSError as error:  # a read-only parent folder: search works, only a loss looks like a fresh start
        logging.getLogger("qa.search").warning("search: cannot write %s: %s", marker, error)


def live_dir(root: Path, create: bool = True) -> Path:
    """The live generation directory. Only a fresh instance (no index ever built) gets an empty one:
    a lost index raises SearchUnavailable until `search rebuild`, never comes back empty."""
    link = root / CURRENT
    if link.is_symlink() or link.exists():
        return root / os.readlink(link)
    if not create or built_marker(root).exists():
        raise SearchUnavailable(LOST)
    with open(root / ".init.lock", "a+") as handle:  # not the writer lock: callers may hold that
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if link.is_symlink():
                return root / os.readlink(link)
            target = new_generation(root)
            swap_live(root, target)
            return target
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_generation(root: Path) -> Path:
    gens = _generations(root)
    target = root / f"gen-{(gens[-1] + 1) if gens else 1}"
    target.mkdir()
    ensure_ready()
    whoosh_index.create_in(str(target), make_schema())
    return target


def swap_live(root: Path, target: Path) -> None:
    """Point `current` at the target generation atomically (rename of a symlink)."""
    tmp = root / f".current-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target.name, tmp)
    os.replace(tmp, root / CURRENT)
    _mark_built(root)


def remove_old_generations(root: Path) -> None:
    live = os.readlink(root / CURRENT)
    for gen in _generations(root):
        name = f"gen-{gen}"
        if name != live:
            shutil.rmtree(root / name, ignore_errors=True)


def open_live(root: Path):
    try:
        return whoosh_index.open_dir(str(live_dir(root)))
    except SearchUnavailable:
        raise
    except Exception as error:  # missing or corrupt files: a clean 503, `search rebuild` repairs
        close_left_open(error)
        raise SearchUnavailable(f"检索索引无法读取（{error}），请执行 flask --app wsgi search rebuild 重建。") from None


def close_left_open(error: BaseException, collect: bool = False) -> None:
    """Whoosh leaves files open when it fails (a bad TOC; a writer failing mid-close on a full disk).
    Clear the failed frames so their descriptors close at once, quietly, instead of piling up until
    some later garbage collection. `collect` also breaks the failed writer's reference cycles (a
    full collection: only on a write failure, at most once per retry interval, never per search)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        traceback.clear_frames(error.__traceback__)
        if collect:
            gc.collect()


@contextmanager
def writer_lock(root: Path, blocking: bool = True):
    """The one-writer lock across processes (the outbox drain, rebuild, check): yields False when
    not blocking and another process holds it."""
    with open(root / ".writer.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# One searcher per process and thread (Whoosh searchers are not shared across threads) -------

_local = threading.local()
_process_lock = threading.Lock()  # one writer per process at a time (threaded servers)


@dataclass
class _Cached:
    target: str  # the generation directory `current` pointed at
    searcher: object
    toc: str  # the TOC file the searcher was opened from
    toc_stat: tuple[int, int]  # its size and mtime: a truncated or rewritten TOC differs
    files: frozenset[str]  # the segment files the searcher reads


def _segment_missing(ix, path: Path) -> str | None:
    """The first segment of the latest TOC with no file on disk, or None."""
    names = os.listdir(path)
    for segment in whoosh_index.TOC.read(ix.storage, ix.indexname).segments:
        prefix = segment.segment_id() + "."
        if not any(n.startswith(prefix) for n in names):
            return segment.segment_id()
    return None


def _open_searcher(root: Path, target: str) -> _Cached:
    path = root / target
    for _attempt in range(3):  # a commit between reading the TOC and the listing: look again
        ix = open_live(root)
        generation = ix.latest_generation()
        try:
            missing = _segment_missing(ix, path)
        except Exception as error:
            close_left_open(error)
            raise SearchUnavailable(f"检索索引无法读取（{error}），请执行 flask --app wsgi search rebuild 重建。") from None
        if missing is None or ix.latest_generation() == generation:
            break
    if missing is not None:  # checked here: whoosh itself would retry for half a second per search
        raise SearchUnavailable(f"检索索引已损坏（缺少段文件 {missing}），请执行 flask --app wsgi search rebuild 重建。")
    try:
        searcher = ix.searcher()
    except Exception as error:  # damaged in another way: the same clean 503
        close_left_open(error)
        raise SearchUnavailable(f"检索索引已损坏（{error}），请执行 flask --app wsgi search rebuild 重建。") from None
    reader = searcher.reader()
    generation = reader.generation()
    toc = f"_MAIN_{ix.latest_generation() if generation is None else generation}.toc"  # None: empty index
    ids = tuple(seg.segment_id() + "." for r, _ in reader.leaf_readers() if (seg := r.segment()) is not None)
    try:
        names = os.listdir(path)
        stat = os.stat(path / toc)
    except OSError as error:
        searcher.close()
        raise SearchUnavailable(LOST) from error
    _mark_built(root)  # an index opened fine: from now on its loss is an error, not a fresh start
    return _Cached(target, searcher, toc, (stat.st_size, stat.st_mtime_ns),
                   frozenset(n for n in names if ids and n.startswith(ids)))


def _still_valid(root: Path, cached: _Cached) -> bool:
    """One directory listing and one stat per search: the searcher's files are all there, its TOC is
    unchanged and no newer generation was committed. An open searcher would go on answering from
    deleted files (open handles), hiding a lost or damaged index until the next restart."""
    try:
        names = set(os.listdir(root / cached.target))
        stat = os.stat(root / cached.target / cached.toc)
    except OSError:
        return False
    if (stat.st_size, stat.st_mtime_ns) != cached.toc_stat or not cached.files <= names:
        return False
    return not any(TOC_NAME.match(n) and n != cached.toc for n in names)


def get_searcher(root: Path):
    """This thread's searcher over the live index, reopened when the index changed or was swapped.

    Raises SearchUnavailable when the index is lost or damaged (checked on every call, cheaply).
    Not searcher.refresh(): whoosh-reloaded 2.7.5 merges the old reader's segments into the new
    list (index.py _reader), so merged-away or deleted documents come back. Reopen instead.
    """
    ensure_ready()
    try:
        target = os.readlink(root / CURRENT)
    except OSError:
        target = live_dir(root).name  # a fresh instance gets its empty index; a lost one raises
    cached = getattr(_local, "searchers", None)
    if cached is None:
        cached = _local.searchers = {}
    entry = cached.get(str(root))
    if entry is not None:
        if entry.target == target and _still_valid(root, entry):
            return entry.searcher
        entry.searcher.close()
        del cached[str(root)]
    entry = _open_with_retries(root, target)
    cached[str(root)] = entry
    return entry.searcher


def _open_with_retries(root: Path, target: str) -> _Cached:
    """The search worker in another process may commit (writing a new TOC, deleting merged segments and
    the old TOC) while this process opens the index: such a moment looks like damage. Look again
    twice, briefly, before calling the index unavailable; a really lost index still answers 503 in
    well under a second."""
    for delay in (0.05, 0.15):
        try:
            return _open_searcher(root, target)
        except SearchUnavailable:
            time.sleep(delay)
            try:
                target = os.readlink(root / CURRENT)
            except OSError:
                pass
    return _open_searcher(root, target)


def close_searchers() -> None:
    for entry in getattr(_local, "searchers", {}).values():
        entry.searcher.close()
    _local.searchers = {}

"""The Whoosh index: schema, documents built from the database, storage, searchers and the writer."""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from qa.models import Answer, Category, Citation, Question, ThreadSource
from qa.search.analysis import ensure_ready, legal_analyzer
from qa.search.citations import statute_key

SEARCHABLE_STATUSES = ("answered", "resolved")
CURRENT = "current"  # symlink to the live generation directory
GENERATION = re.compile(r"^gen-(\d+)$")
MD_NOISE = re.compile(r"[#*_>`|\[\]]+")


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


def is_searchable(question: Question) -> bool:
    """Only answered threads are in the index; the same rule re-checks hits before display."""
    return question.status in SEARCHABLE_STATUSES and bool(question.answers)


def plain(markdown_text: str) -> str:
    return MD_NOISE.sub(" ", markdown_text or "")


def thread_text(question: Question) -> str:
    """Question, supplements, answers and canonical texts as one plain text (also used for snippets)."""
    parts = [plain(question.body_md)]
    parts += [plain(s.body_md) for s in question.supplements]
    for answer in question.answers:
        parts.append(plain(answer.body_md))
        if answer.canonical is not None and answer.canonical.text_md != answer.body_md:
            parts.append(plain(answer.canonical.text_md))
    return "\n".join(parts)


def quality_of(question: Question) -> float:
    """The best answer's mean rating (1–5), 0 when unrated."""
    averages = [a.rating_average for a in question.answers if a.rating_average is not None]
    return float(max(averages)) if averages else 0.0


def build_document(question: Question, statutes: Iterable[str], parents: dict[str, str | None],
                   imported: bool = False) -> dict:
    canonicals = [a.canonical for a in question.answers if a.canonical is not None]
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
    digest = hashlib.sha1()
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
    has_answer = select(Answer.id).where(Answer.question_id == Question.id).exists()
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


def live_dir(root: Path, create: bool = True) -> Path:
    """The live generation directory (created empty on first use)."""
    link = root / CURRENT
    if link.is_symlink() or link.exists():
        return root / os.readlink(link)
    if not create:
        raise SearchUnavailable("no index")
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


def remove_old_generations(root: Path) -> None:
    live = os.readlink(root / CURRENT)
    for gen in _generations(root):
        name = f"gen-{gen}"
        if name != live:
            shutil.rmtree(root / name, ignore_errors=True)


def open_live(root: Path):
    try:
        return whoosh_index.open_dir(str(live_dir(root)))
    except Exception as error:  # missing or corrupt files: a clean 503, `search rebuild` repairs
        raise SearchUnavailable(str(error)) from error


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


def get_searcher(root: Path):
    """This thread's searcher over the live index, refreshed when the index changed or was swapped."""
    ensure_ready()
    try:
        target = os.readlink(root / CURRENT)
    except OSError:
        live_dir(root)
        target = os.readlink(root / CURRENT)
    cached = getattr(_local, "searchers", {})
    _local.searchers = cached
    entry = cached.get(str(root))
    if entry is not None and entry[0] == target:
        searcher = entry[1]
        if searcher.up_to_date():
            return searcher
        # Not searcher.refresh(): whoosh-reloaded 2.7.5 merges the old reader's segments into the
        # new list (index.py _reader), so merged-away or deleted documents come back. Reopen.
        searcher.close()
        searcher = open_live(root).searcher()
        cached[str(root)] = (target, searcher)
        return searcher
    if entry is not None:
        entry[1].close()
    searcher = open_live(root).searcher()
    cached[str(root)] = (target, searcher)
    return searcher


def close_searchers() -> None:
    for _target, searcher in getattr(_local, "searchers", {}).values():
        searcher.close()
    _local.searchers = {}

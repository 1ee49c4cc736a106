"""Admins extend the legal dictionary and the synonym table (stored in the database)."""
from __future__ import annotations

import re
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.models import SearchTerm, User
from qa.permissions import Permission, can, require
from qa.search import analysis
from qa.services.audit import record

WORD_RE = re.compile(r"^[0-9A-Za-z\u3400-\u9fff]{2,30}$")
SYNC_SECONDS = 30.0
_synced_at = 0.0
_synced_key: tuple | None = None


def add_search_term(admin: User, kind: str, word: str, expansion: str = "") -> SearchTerm:
    """Add a dictionary word (kind=term) or a colloquial word with its legal terms (kind=synonym).

    Raises PermissionDenied (not an admin), ValidationError, Conflict (already there).
    """
    require(can(admin, Permission.ADMINISTER), "只有管理员可以维护检索词典。")
    if kind not in ("term", "synonym"):
        raise ValidationError("kind", "请选择词条类型。")
    word = (word or "").strip()
    if not WORD_RE.match(word):
        raise ValidationError("word", "词条须为 2–30 个汉字、字母或数字，不含空格和标点。")
    terms: list[str] = []
    if kind == "synonym":
        terms = [t for t in re.split(r"[、,，;；\s]+", expansion or "") if t]
        if not terms:
            raise ValidationError("expansion", "请填写对应的法律术语（可填多个，用空格或顿号分隔）。")
        bad = [t for t in terms if not WORD_RE.match(t)]
        if bad or len(terms) > 10:
            raise ValidationError("expansion", "法律术语最多 10 个，每个 2–30 个汉字、字母或数字。")
    begin_write()
    if db.session.execute(select(SearchTerm.id).filter_by(kind=kind, word=word)).first():
        raise Conflict("该词条已存在。")
    entry = SearchTerm(kind=kind, word=word, expansion=" ".join(terms), created_by_id=admin.id)
    db.session.add(entry)
    record(admin, "search.term_added", entry, kind=kind, word=word, expansion=entry.expansion)
    db.session.commit()
    sync_admin_entries(force=True)
    return entry


def remove_search_term(admin: User, entry_id: int) -> None:
    require(can(admin, Permission.ADMINISTER), "只有管理员可以维护检索词典。")
    begin_write()
    entry = db.session.get(SearchTerm, entry_id)
    if entry is None:
        raise NotFound("词条不存在。")
    record(admin, "search.term_removed", entry, kind=entry.kind, word=entry.word)
    db.session.delete(entry)
    db.session.commit()
    sync_admin_entries(force=True)


def list_search_terms() -> list[SearchTerm]:
    return list(db.session.execute(select(SearchTerm).order_by(SearchTerm.kind, SearchTerm.word)).scalars())


def sync_admin_entries(force: bool = False) -> None:
    """Install the admins' entries into this process (every SYNC_SECONDS at most)."""
    global _synced_at, _synced_key
    now = time.monotonic()
    if not force and now - _synced_at < SYNC_SECONDS:
        return
    _synced_at = now
    # A session of its own: never leave a read transaction open in the caller's session
    # (the drain runs after a request's commit; a stale SQLite snapshot could not write later).
    with Session(db.engine) as session:
        rows = session.execute(select(SearchTerm.kind, SearchTerm.word, SearchTerm.expansion)).all()
    key = tuple(sorted(rows))
    if key == _synced_key:
        return
    _synced_key = key
    terms = {word for kind, word, _ in rows if kind == "term"}
    synonyms: dict[str, list[str]] = {}
    for kind, word, expansion in rows:
        if kind == "synonym":
            synonyms[word] = expansion.split()
    analysis.set_admin_entries(terms, synonyms)

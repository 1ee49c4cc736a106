"""The SQL search backend (QA_SEARCH_BACKEND = "sql"): SQLite FTS5 or PostgreSQL tsvector + GIN.

The same documents (index.build_document/load_documents), the same jieba analysis, the same outbox
and writer lock as the Whoosh backend; only the storage differs. Text is segmented by
analysis.segment() and stored space-separated, so the database engines only split on spaces:
  SQLite      sx_doc (filter and sort columns) + sx_fts (FTS5: title, body, subs, keys) + sx_vocab
  PostgreSQL  sx_doc with a tsvector built literally (weights A title, B body, C sub-words, D keys)
"keys" holds the filter tokens (category, tag, statute) hex-encoded, so `法条:刑法264` is one term.
These tables are derived search data, not schema: created here at runtime, ignored by Alembic
(include_object), rebuilt by `search rebuild` into sx_new_* tables and swapped in by rename.
"""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from qa.extensions import db
from qa.search.analysis import segment
from qa.search.index import SearchUnavailable

PREFIX = "sx_"
PG_POS_MAX = 16383  # PostgreSQL clamps lexeme positions here
PG_POSITIONS_PER_LEXEME = 256
SQLITE_TOKENIZE = "unicode61 remove_diacritics 0 tokenchars '+#&._%-'"  # the characters jieba keeps in a word
Progress = Callable[[int], None] | None


def enabled(app=None) -> bool:
    return (app or current_app).config.get("QA_SEARCH_BACKEND", "whoosh") == "sql"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic autogenerate: the sx_* tables (and FTS5 shadow tables) are search data, not schema."""
    table = getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "") or ""
    return not (reflected and compare_to is None and str(table_name or name).startswith(PREFIX))


def dialect() -> str:
    return db.engine.dialect.name


# Keys and rows ---------------------------------------------------------------------------------


def key_token(kind: str, value: str) -> str:
    """c / t / s + hex of the value: a single token for both engines, never confused with words."""
    return kind + value.encode("utf-8").hex()


def doc_keys(doc: dict) -> list[str]:
    keys = [key_token("c", c) for c in doc["category"].split(",") if c]
    keys += [key_token("t", t.lower()) for t in doc["tags"].split(",") if t]
    keys += [key_token("s", s) for s in doc["statutes"].split(",") if s]
    return keys


def _fields(doc: dict) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]]]:
    """(title words, body main words, body sub-words) with their positions."""
    title = [(w, p) for w, p, _s, _e in segment(doc["title"])]
    main: dict[int, str] = {}
    subs: list[tuple[str, int]] = []
    for word, pos, _start, _end in segment(doc["content"]):
        if pos in main:  # sub-words come before their whole word, at the same position
            subs.append((main[pos], pos))
        main[pos] = word
    return title, sorted(((w, p) for p, w in main.items()), key=lambda x: x[1]), subs


def analyse(doc: dict) -> tuple:
    """One document as a row for the engine (the jieba work; run in a pool on rebuild)."""
    title, body, subs = _fields(doc)
    keys = doc_keys(doc)
    base = (int(doc["id"]), doc["number"].upper(), doc["version"], doc["status"], int(doc["canonical"]),
            int(doc["superseded"]), int(doc["quality"]), int(doc["asked"]), int(doc["answered"]))
    if _DIALECT == "postgresql":
        return base + (tsvector_literal(title, body, subs, keys),)
    titles = {}  # the title's whole words in order (phrases); its sub-words are in subs via the body
    for word, pos in title:
        titles[pos] = word
    return base + (" ".join(titles[p] for p in sorted(titles)), " ".join(w for w, _ in body),
                   " ".join(w for w, _ in subs), " ".join(keys))


_DIALECT = "sqlite"  # set before analysing (also in pool children, which inherit it)


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(title, body, subs, keys) -> str:
    """A tsvector in its input syntax ('word':1A,7B …): PostgreSQL's parser never sees our text."""
    positions: dict[str, list[str]] = {}

    def add(word: str, pos: int, weight: str) -> None:
        entry = positions.setdefault(word, [])
        if len(entry) < PG_POSITIONS_PER_LEXEME:
            entry.append(f"{min(max(pos, 1), PG_POS_MAX)}{weight}")

    for word, pos in title:
        add(word, pos + 1, "A")
    offset = (title[-1][1] + 1 if title else 0) + 10  # no phrase spans title and body
    for word, pos in body:
        add(word, pos + offset, "B")
    for word, pos in subs:
        add(word, pos + offset, "C")
    end = (body[-1][1] if body else 0) + offset + 10
    for i, key in enumerate(keys):
        add(key, end + i * 2, "D")
    return " ".join(f"{_lexeme(w)}:{','.join(p)}" for w, p in positions.items())


# Tables ----------------------------------------------------------------------------------------

DOC_COLUMNS = "qid, number, version, status, canonical, superseded, quality, asked, answered"


def _ddl(prefix: str) -> list[str]:
    doc = (f"CREATE TABLE IF NOT EXISTS {prefix}doc (qid INTEGER PRIMARY KEY, number VARCHAR(40) NOT NULL, "
           "version VARCHAR(20) NOT NULL, status VARCHAR(20) NOT NULL, canonical SMALLINT NOT NULL, "
           "superseded SMALLINT NOT NULL, quality INTEGER NOT NULL, asked BIGINT NOT NULL, answered BIGINT NOT NULL"
           + (", tsv TSVECTOR NOT NULL)" if dialect() == "postgresql" else ")"))
    if dialect() == "postgresql":
        return [doc]  # indexes are made after the bulk fill (faster), see _create_indexes
    return [doc, f"CREATE VIRTUAL TABLE IF NOT EXISTS {prefix}fts USING fts5(title, body, subs, keys, "
                 f"tokenize=\"{SQLITE_TOKENIZE}\")"]


def _create_indexes(conn: Connection, prefix: str) -> None:
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {prefix}doc_number ON {prefix}doc (number)"))
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {prefix}doc_asked ON {prefix}doc (asked)"))
    if dialect() == "postgresql":
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {prefix}doc_tsv ON {prefix}doc USING gin (tsv)"))


def ensure_tables() -> None:
    """Create the live tables on first use (once per engine)."""
    engine = db.engine
    if getattr(engine, "_jd_sx_ready", False):
        return
    with engine.begin() as conn:
        for statement in _ddl(PREFIX):
            conn.execute(text(statement))
        _create_indexes(conn, PREFIX)
        if dialect() == "sqlite":
            conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {PREFIX}vocab USING fts5vocab({PREFIX}fts, row)"))
    engine._jd_sx_ready = True


def _insert(conn: Connection, prefix: str, rows: list[tuple]) -> None:
    if not rows:
        return
    names = DOC_COLUMNS.split(", ")
    if dialect() == "postgresql":
        params = [dict(zip([*names, "tsv"], row, strict=True)) for row in rows]
        conn.execute(text(f"INSERT INTO {prefix}doc ({DOC_COLUMNS}, tsv) VALUES ("
                          + ", ".join(f":{n}" for n in names) + ", CAST(:tsv AS tsvector))"), params)
        return
    conn.execute(text(f"INSERT INTO {prefix}doc ({DOC_COLUMNS}) VALUES (" + ", ".join(f":{n}" for n in names) + ")"),
                 [dict(zip(names, row[:9], strict=True)) for row in rows])
    conn.execute(text(f"INSERT INTO {prefix}fts (rowid, title, body, subs, keys) VALUES (:q, :t, :b, :s, :k)"),
                 [{"q": row[0], "t": row[9], "b": row[10], "s": row[11], "k": row[12]} for row in rows])


def _delete(conn: Connection, prefix: str, ids: list[int]) -> None:
    if not ids:
        return
    marks = ", ".join(str(int(i)) for i in ids)
    conn.execute(text(f"DELETE FROM {prefix}doc WHERE qid IN ({marks})"))
    if dialect() == "sqlite":
        conn.execute(text(f"DELETE FROM {prefix}fts WHERE rowid IN ({marks})"))


def _set_dialect() -> None:
    global _DIALECT
    _DIALECT = dialect()


def apply(docs: dict[int, dict | None]) -> None:
    """One outbox batch in one transaction: replace the changed documents, delete the gone ones."""
    ensure_tables()
    _set_dialect()
    rows = [analyse(doc) for doc in docs.values() if doc is not None]
    try:
        with db.engine.begin() as conn:
            _delete(conn, PREFIX, list(docs))
            _insert(conn, PREFIX, rows)
    except DBAPIError as error:  # the tasks stay in the outbox, marked; `search rebuild` repairs
        raise SearchUnavailable(f"检索数据表写入失败：{error.orig}") from error


# Rebuild: fill sx_new_*, then swap by rename in one short transaction ---------------------------


def _drop(conn: Connection, prefix: str) -> None:
    if dialect() == "sqlite":
        conn.execute(text(f"DROP TABLE IF EXISTS {prefix}fts"))
    conn.execute(text(f"DROP TABLE IF EXISTS {prefix}doc"))


def rebuild(ids: list[int], load: Callable[[list[int]], dict[int, dict | None]], procs: int = 1,
            progress: Progress = None, batch: int = 500) -> int:
    """Fill new tables in committed batches (searches keep using the live ones), then swap them in."""
    ensure_tables()
    _set_dialect()
    new = PREFIX + "new_"
    with db.engine.begin() as conn:
        _drop(conn, new)
        for statement in _ddl(new):
            conn.execute(text(statement))
    count = 0
    pool = multiprocessing.get_context("fork").Pool(procs) if procs > 1 else None
    try:
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            docs = [d for d in load(chunk).values() if d is not None]
            rows = pool.map(analyse, docs, chunksize=25) if pool else [analyse(d) for d in docs]
            with db.engine.begin() as conn:
                _insert(conn, new, rows)
            count += len(rows)
            if progress:
                progress(len(chunk))
    finally:
        if pool:
            pool.close()
            pool.join()
    with db.engine.begin() as conn:
        _create_indexes(conn, new)
    with db.engine.begin() as conn:
        _drop(conn, PREFIX)
        if dialect() == "sqlite":
            conn.execute(text(f"ALTER TABLE {new}fts RENAME TO {PREFIX}fts"))
            conn.execute(text(f"ALTER TABLE {new}doc RENAME TO {PREFIX}doc"))
            for name in ("number", "asked"):  # SQLite cannot rename an index: recreate it (milliseconds)
                conn.execute(text(f"DROP INDEX IF EXISTS {new}doc_{name}"))
        else:
            conn.execute(text(f"ALTER TABLE {new}doc RENAME TO {PREFIX}doc"))
            for name in ("number", "asked", "tsv"):
                conn.execute(text(f"ALTER INDEX {new}doc_{name} RENAME TO {PREFIX}doc_{name}"))
        _create_indexes(conn, PREFIX)
    if dialect() == "sqlite":
        with db.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {PREFIX}fts ({PREFIX}fts) VALUES ('optimize')"))
    return count


# Reading ---------------------------------------------------------------------------------------


def versions() -> dict[int, str]:
    ensure_tables()
    with db.engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT qid, version FROM {PREFIX}doc")).all())


def document_count() -> int:
    ensure_tables()
    with db.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {PREFIX}doc")).scalar() or 0


_counted: dict[str, tuple[float, int]] = {}


def _approximate_count() -> int:
    """The number of documents, counted at most every 10 s (a full count costs ms at 100k)."""
    key = str(db.engine.url)
    at, count = _counted.get(key, (0.0, 0))
    if time.monotonic() - at > 10:
        count = document_count()
        _counted[key] = (time.monotonic(), count)
    return count


def doc_frequencies(terms: Iterable[str]) -> tuple[dict[str, int], int]:
    """(term → number of documents containing it, total documents). Exact on SQLite (fts5vocab);
    PostgreSQL has no cheap per-term statistics: every term counts as present and rare."""
    terms = list(dict.fromkeys(terms))
    total = _approximate_count()
    if dialect() != "sqlite" or not terms:
        return dict.fromkeys(terms, 1), total
    params = {f"t{i}": t for i, t in enumerate(terms)}
    marks = ", ".join(f":t{i}" for i in range(len(terms)))
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT term, doc FROM {PREFIX}vocab WHERE term IN ({marks})"), params).all()
    return dict(rows), total


def rebuild_index(app, procs: int = 1, progress: Progress = None, batch: int = 500) -> int:
    """`search rebuild` for this backend: under the same writer lock as the outbox drain; the tasks
    seen at the start are covered by the rebuild and deleted, later ones drained after the swap."""
    from sqlalchemy import select

    from qa.models import IndexTask
    from qa.search.index import index_root, load_documents, searchable_ids, writer_lock
    from qa.search.worker import _process_lock, _session, clear_tasks, drain_outbox
    from qa.services.search_terms import sync_admin_entries

    def load(chunk: list[int]) -> dict[int, dict | None]:
        with _session() as session:
            return load_documents(session, chunk)

    with _process_lock, writer_lock(index_root(app), blocking=True):
        sync_admin_entries(force=True)
        with _session() as session:
            covered = list(session.scalars(select(IndexTask.id)))
            ids = searchable_ids(session)
        count = rebuild(ids, load, procs=procs, progress=progress, batch=batch)
        clear_tasks(covered)
    drain_outbox(app, blocking=True)
    return count

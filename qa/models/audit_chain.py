"""The audit log's hash chain and its append-only triggers, whatever path inserts the rows."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import DDL, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from qa.models.activity import AuditEvent
from qa.models.types import utcnow

GENESIS = "0" * 64
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
TABLE = AuditEvent.__table__
HASHED = ("id", "prev_hash", "at", "actor_id", "actor_roles", "actor_org_id", "action", "object_type",
          "object_id", "question_id", "question_number", "detail", "ip")

# The database refuses UPDATE and DELETE on the log. The same DDL must be in the migration that
# creates audit_event (and be re-created by any migration that rebuilds the table on SQLite).
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]
# TRUNCATE fires no row triggers: a statement-level trigger refuses it (also a TRUNCATE ... CASCADE
# from a table the log refers to). PostgreSQL only: SQLite has no TRUNCATE. Created by migration
# 0002_audit_truncate_guard and, after db.create_all(), by the listener below.
POSTGRESQL_TRUNCATE_GUARD = [
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
]
for _sql in SQLITE_TRIGGERS:
    event.listen(TABLE, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in POSTGRESQL_TRIGGERS + POSTGRESQL_TRUNCATE_GUARD:
    event.listen(TABLE, "after_create", DDL(_sql).execute_if(dialect="postgresql"))


def _time(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


def canonical_detail(detail) -> object:
    """The detail as it reads back from the JSON column (tuples become lists, keys strings)."""
    return json.loads(json.dumps(detail if detail is not None else {}))


def detail_text(detail) -> str:
    """The exact text the JSON column stores for this detail (SQLAlchemy's default serializer).

    Hashing the stored text, not a re-encoding, keeps verify fast and catches any byte changed.
    """
    return json.dumps(detail)


def chain_hash(rid, prev_hash, at, actor_id, actor_roles, actor_org_id, action, object_type, object_id,
               question_id, question_number, detail_json: str, ip) -> str:
    """SHA-256 over one row: its id, the previous row's hash and every content column."""
    payload = _ENCODER.encode([rid, prev_hash, _time(at), actor_id, actor_roles, actor_org_id, action, object_type,
                               object_id, question_id, question_number, detail_json, ip])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def row_hash(row) -> str:
    """chain_hash of a mapping with the HASHED keys (detail as a value, not text)."""
    return chain_hash(row["id"], row["prev_hash"], row["at"], row["actor_id"], row["actor_roles"],
                      row["actor_org_id"], row["action"], row["object_type"], row["object_id"], row["question_id"],
                      row["question_number"], detail_text(row["detail"]), row["ip"])


def lock_chain_head(conn) -> tuple[int, str]:
    """Take the chain lock for the rest of the transaction; return the last row's id and hash.

    PostgreSQL: a transaction-scoped advisory lock (per schema), so concurrent writers append one
    after the other and never link two rows to the same predecessor. SQLite: writes are already
    serialized by the database write lock (begin_write() starts BEGIN IMMEDIATE; a deferred
    transaction that lost the race fails instead of forking). The unique prev_hash backs both up.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_event'))"))
    head = conn.execute(text("SELECT id, row_hash FROM audit_event ORDER BY id DESC LIMIT 1")).first()
    return (head[0], head[1]) if head is not None else (0, GENESIS)


def chain_rows(conn, rows: list[dict]) -> None:
    """Fill id, defaults, prev_hash and row_hash of new rows (in order) after the current head."""
    last_id, last_hash = lock_chain_head(conn)
    for row in rows:
        last_id += 1
        row["id"] = last_id
        row["at"] = row.get("at") or utcnow()
        row["actor_roles"] = row.get("actor_roles") or ""
        row["detail"] = canonical_detail(row.get("detail"))
        for key in ("actor_id", "actor_org_id", "question_id", "question_number", "ip"):
            row.setdefault(key, None)
        row["prev_hash"] = last_hash
        row["row_hash"] = last_hash = row_hash(row)


@event.listens_for(Session, "before_flush")
def _chain_pending_events(session, _flush_context, _instances):
    """ORM path (record() and any session.add(AuditEvent(...))): chain the pending rows."""
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.row_hash is None]
    if not pending:
        return
    pending.sort(key=lambda obj: obj._sa_instance_state.insert_order)
    rows = [{key: getattr(obj, key) for key in HASHED if key not in ("id", "prev_hash")} for obj in pending]
    chain_rows(session.connection(), rows)
    for obj, row in zip(pending, rows, strict=True):
        for key, value in row.items():
            setattr(obj, key, value)


@event.listens_for(Engine, "before_execute", retval=True)
def _chain_core_inserts(conn, clauseelement, multiparams, params, _execution_options):
    """Core and ORM-bulk path (insert(AuditEvent) with a list of dicts): chain them too."""
    if not isinstance(clauseelement, Insert) or getattr(clauseelement.table, "name", None) != "audit_event":
        return clauseelement, multiparams, params
    rows = [dict(p) for p in multiparams] if multiparams else ([dict(params)] if params else [])
    if not rows:
        raise ValueError("audit_event rows must be inserted with parameters, so they can be chained")
    if all(row.get("row_hash") for row in rows):
        return clauseelement, multiparams, params  # already chained (the ORM flush above)
    chain_rows(conn, rows)
    return (clauseelement, rows, {}) if len(rows) > 1 else (clauseelement, [], rows[0])

"""Unbound Flask extensions and the database engine settings that every deployment shares."""
from __future__ import annotations

import contextvars

from flask import current_app
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()

# Set by begin_write(): the next SQLite transaction on this context begins IMMEDIATE.
_want_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("want_immediate", default=False)


def begin_write() -> None:
    """Start the current unit of work as a write transaction.

    On SQLite a deferred transaction that read first and writes later fails with SQLITE_BUSY
    when another connection wrote in between; a write transaction therefore begins IMMEDIATE,
    which waits (busy_timeout) for the write lock instead. Services call this before their first
    query. Any read-only transaction still open is ended first; nothing is pending at that point.
    On PostgreSQL this is a no-op: row locks and constraints do the work.
    """
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with pending changes")
        session.rollback()
    if not current_app.config.get("QA_SQLITE_IMMEDIATE", True):
        return  # test-only knob (bench/load.py --wrong-settings deferred): a plain deferred BEGIN
    _want_immediate.set(True)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record):
    """SQLite settings for durability and concurrency (WAL, FULL sync, foreign keys, busy wait)."""
    if type(dbapi_conn).__module__ != "sqlite3":
        return
    # Let SQLAlchemy's "begin" event emit BEGIN itself, so it can choose IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    if _want_immediate.get():
        _want_immediate.set(False)
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")

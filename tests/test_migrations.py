"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import logging
import os

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import make_url

from qa import create_app
from qa.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")



@pytest.fixture
def keep_logging():
    """Alembic's env.py reconfigures logging from alembic.ini; put things back for the other tests."""
    manager = logging.root.manager
    disabled = {name: lg.disabled for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root_handlers, root_level = list(logging.root.handlers), logging.root.level
    levels = {name: lg.level for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    yield
    for name, lg in list(manager.loggerDict.items()):
        if isinstance(lg, logging.Logger):
            lg.disabled = disabled.get(name, False)
            if name in levels:
                lg.setLevel(levels[name])
    for handler in list(logging.root.handlers):
        if handler not in root_handlers:
            logging.root.removeHandler(handler)
    logging.root.setLevel(root_level)


def migrated_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "migration-check", "SQLALCHEMY_DATABASE_URI": url})


def schema_differences() -> list:
    """What autogenerate would still have to write: empty when migrations and models agree."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def check_constraints_missing() -> dict[str, set[str]]:
    """CHECK constraints in the models but not in the database (autogenerate does not compare them)."""
    inspector = inspect(db.engine)
    missing = {}
    for table in db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints if isinstance(c, CheckConstraint) and c.name}
        present = {c["name"] for c in inspector.get_check_constraints(table.name)}
        if wanted - present:
            missing[table.name] = wanted - present
    return missing


def test_migrations_have_a_single_head(keep_logging, tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'heads.db'}")
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
        db.engine.dispose()


def test_sqlite_migrations_match_the_models(keep_logging, tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'migrated.db'}")
    with app.app_context():
        flask_migrate.upgrade()
        try:
            assert schema_differences() == []
            assert check_constraints_missing() == {}
            tables = set(inspect(db.engine).get_table_names())
            assert {t.name for t in db.metadata.sorted_tables} <= tables
            assert "alembic_version" in tables
        finally:
            db.session.remove()
            db.engine.dispose()


def test_sqlite_runs_with_wal_full_sync_and_foreign_keys(keep_logging, tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with app.app_context():
        flask_migrate.upgrade()
        try:
            with db.engine.connect() as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
                assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            # Foreign keys are enforced, not merely declared.
            with pytest.raises(Exception, match="FOREIGN KEY"):
                with db.engine.begin() as conn:
                    conn.execute(text(
                        "INSERT INTO user_account (username, name, org_id, active, session_version, created_at) "
                        "VALUES ('ghost', '幽灵', 999, 1, 1, '2026-01-01 00:00:00')"
                    ))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def throwaway_pg_database():
    """A fresh PostgreSQL database for this process, dropped afterwards."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = make_url(PG_URL)
    name = f"jianda_migcheck_{os.getpid()}"
    admin_conninfo = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgresql_migrations_match_the_models(keep_logging, throwaway_pg_database):
    app = migrated_app(throwaway_pg_database)
    with app.app_context():
        try:
            flask_migrate.upgrade()
            assert schema_differences() == []
            assert check_constraints_missing() == {}
            tables = set(inspect(db.engine).get_table_names())
            assert {t.name for t in db.metadata.sorted_tables} <= tables
        finally:
            db.session.remove()
            db.engine.dispose()

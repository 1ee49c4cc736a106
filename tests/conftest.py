"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL via TEST_DATABASE_URL)."""
from __future__ import annotations

import os

import pytest
from flask import g
from jinja2 import BytecodeCache
from sqlalchemy import text

from qa import create_app
from qa.auth.throttle import LIMIT_KEYS
from qa.extensions import db
from qa.services.setup import sync_categories
from tests.factories import PASSWORD, make_orgs, make_user

PG_URL = os.environ.get("TEST_DATABASE_URL")


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates shared by the per-test apps of one run (compiling dominates otherwise)."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = MemoryBytecodeCache()


def _base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        # Cheap hashing keeps the suite fast; tests/test_accounts.py checks the real defaults.
        "QA_ARGON2_TIME_COST": 1,
        "QA_ARGON2_MEMORY_COST": 1024,
        "QA_ARGON2_PARALLELISM": 1,
        # The suite logs in hundreds of times; tests/test_throttling.py puts the real limits back.
        **dict.fromkeys(LIMIT_KEYS, "100000 per minute"),
    }


# Each pytest process works in its own PostgreSQL schema, so parallel runs never collide.
PG_SCHEMA = f"test_run_{os.getpid()}"


def _pg_config() -> dict:
    config = _base_config(PG_URL)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={PG_SCHEMA}"}}
    return config


@pytest.fixture(scope="session")
def pg_schema_ready():
    """Create this run's PostgreSQL schema and tables once; tests then truncate. Dropped at the end."""
    if not PG_URL:
        yield False
        return
    app = create_app(_pg_config())
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        db.create_all()
        db.engine.dispose()
    yield True
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        db.engine.dispose()


@pytest.fixture
def app_config(tmp_path):
    config = _pg_config() if PG_URL else _base_config(f"sqlite:///{tmp_path / 'test.db'}")
    config["QA_SEARCH_INDEX_DIR"] = str(tmp_path / "search_index")  # a real Whoosh index per test
    return config


def _forget_cached_user() -> None:
    g.pop("_login_user", None)


@pytest.fixture
def app(app_config, pg_schema_ready):
    app = create_app(app_config)
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    # Test requests share the test's app context (and so `g`); in production every request has
    # its own. Forget the cached user so each request loads and checks it again, as in production.
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_cached_user)
    with app.app_context():
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            # The audit log refuses TRUNCATE; between tests (one transaction) the guard is lifted.
            db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_truncate"))
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_truncate"))
            db.session.commit()
        else:
            db.create_all()
        sync_categories()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def orgs(app):
    return make_orgs()


@pytest.fixture
def people(orgs):
    """One person per role: an asker at a grassroots procuratorate, experts above, a moderator, an admin."""
    return {
        "asker": make_user("asker", "110105", name="张检察官"),
        "city_expert": make_user("city_expert", "110100", roles=["expert"], specialities=["criminal"], name="李专家"),
        "prov_expert": make_user("prov_expert", "110000", roles=["expert"],
                                 specialities=["criminal", "civil"], name="王专家"),
        "moderator": make_user("moderator", "110000", roles=["moderator"], name="赵评查"),
        "admin": make_user("admin", "110000", roles=["admin"], name="钱管理"),
    }


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)

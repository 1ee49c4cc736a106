"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL via TEST_DATABASE_URL)."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from qa import create_app
from qa.extensions import db
from qa.services.setup import sync_categories
from tests.factories import PASSWORD, make_orgs, make_user

PG_URL = os.environ.get("TEST_DATABASE_URL")


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
    }


@pytest.fixture(scope="session")
def pg_schema_ready():
    """Create the PostgreSQL schema once per run; tests then truncate."""
    if not PG_URL:
        return False
    app = create_app(_base_config(PG_URL))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return True


@pytest.fixture
def app_config(tmp_path, request):
    url = PG_URL or f"sqlite:///{tmp_path / 'test.db'}"
    return _base_config(url)


@pytest.fixture
def app(app_config, pg_schema_ready):
    app = create_app(app_config)
    with app.app_context():
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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

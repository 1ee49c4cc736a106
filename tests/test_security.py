"""Sessions, CSRF, redirects, headers and error pages: the checks a reviewer tries first."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func

from qa.extensions import db
from qa.models import Question
from qa.services.accounts import create_api_token, update_user
from tests.conftest import AuthActions
from tests.test_permissions import (
    CELLS,
    POLICY,
    world,  # noqa: F401,F811  (fixture re-used)
)
from tests.test_web_flow import ask_form


def test_logout_kills_the_copied_cookie(app, client, auth, people):
    auth.login("asker")
    assert client.get("/").status_code == 200
    stolen = client.get_cookie("session").value
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_deactivation_and_demotion_apply_on_the_next_request(client, auth, people):
    auth.login("city_expert")
    assert client.get("/inbox").status_code == 200
    update_user(people["admin"], people["city_expert"], roles=[])  # demoted to asker
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login("city_expert")
    assert client.get("/inbox").status_code == 403  # the new role applies
    update_user(people["admin"], people["city_expert"], active=False)
    assert client.get("/").status_code == 302


def test_deactivation_stops_api_tokens(client, people):
    _token, raw = create_api_token(None, people["asker"], "对接")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/categories", headers=headers).status_code == 200
    update_user(people["admin"], people["asker"], active=False)
    assert client.get("/api/v1/categories", headers=headers).status_code == 401


@pytest.mark.parametrize(("key", "age"), [("seen_at", 31 * 60), ("login_at", 12 * 3600 + 60)])
def test_idle_and_absolute_timeouts(client, auth, people, key, age):
    auth.login("asker")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session[key] = int(time.time()) - age
    response = client.get("/questions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 302  # and the session is gone for good


def test_an_active_user_is_not_timed_out(client, auth, people):
    auth.login("asker")
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 29 * 60
    assert client.get("/").status_code == 200


def test_login_starts_a_fresh_session(client, auth, people):
    with client.session_transaction() as session:
        session["planted"] = "attacker"
    auth.login("asker")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_failed_login_says_the_same_for_unknown_and_wrong(client, people):
    unknown = client.post("/login", data={"username": "nobody", "password": "whatever-1"})
    wrong = client.post("/login", data={"username": "asker", "password": "whatever-1"})
    assert unknown.status_code == wrong.status_code == 401
    message = "用户名或密码错误，或账号已停用。"
    assert message in unknown.get_data(as_text=True) and message in wrong.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_no_open_redirect_after_login(client, people, target):
    response = client.post(f"/login?next={target}", data={"username": "asker", "password": "correct-horse-42"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_local_next_is_followed(client, people):
    response = client.post("/login?next=/questions?page=2", data={"username": "asker", "password": "correct-horse-42"})
    assert response.headers["Location"] == "/questions?page=2"


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_csrf_is_required_on_state_changes(csrf_app, people):
    client = csrf_app.test_client()
    # Log in needs the token too.
    assert client.post("/login", data={"username": "asker", "password": "correct-horse-42"}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "asker", "password": "correct-horse-42",
                                       "csrf_token": token}).status_code == 302
    response = client.post("/ask", data=ask_form())
    assert response.status_code == 400 and "表单已过期或来源无效" in response.get_data(as_text=True)
    assert db.session.execute(db.select(func.count(Question.id))).scalar_one() == 0


def test_security_headers_on_pages(client, auth, people):
    auth.login("asker")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers.get("Set-Cookie", "") or client.get_cookie("session")
    assert cookie is not None


def test_session_cookie_flags(client, people):
    response = client.post("/login", data={"username": "asker", "password": "correct-horse-42"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_server_error_page_has_a_correlation_id_and_no_trace(app, client, auth, people):
    def boom():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/boom-for-test", "boom_for_test", boom)
    auth.login("asker")
    response = client.get("/boom-for-test")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "错误编号" in html and response.headers["X-Correlation-Id"] in html
    assert "secret internal detail" not in html and "Traceback" not in html


def test_request_size_is_capped(client, auth, people):
    auth.login("asker")
    response = client.post("/ask", data=ask_form(body="长" * (1024 * 1024)))
    assert response.status_code == 413
    assert db.session.execute(db.select(func.count(Question.id))).scalar_one() == 0


def _fingerprint() -> dict[str, int]:
    """Row counts of every table, plus read flags: any change a GET could make shows here."""
    counts = {}
    for table in db.metadata.sorted_tables:
        if table.name == "index_task":
            continue  # the search outbox may be drained after any request: a cache, not state
        counts[table.name] = db.session.execute(db.select(func.count()).select_from(table)).scalar_one()
    from qa.models import Notification

    counts["unread"] = db.session.execute(
        db.select(func.count(Notification.id)).where(Notification.read_at.is_(None))).scalar_one()
    return counts


def test_get_never_changes_state(app, world):  # noqa: F811
    users, values = world
    before = None
    for role in ("owner", "expert", "moderator", "admin"):
        client = app.test_client()
        AuthActions(client).login(users[role])
        db.session.rollback()  # read afresh: the log-in committed on another snapshot
        before = _fingerprint()
        for endpoint, rule, method in CELLS:
            if method != "GET" or role not in POLICY.get(endpoint, ()):
                continue
            url = rule
            for key, value in values.items():
                url = url.replace(f"<{key}>", str(value)).replace(f"<int:{key}>", str(value))
            client.get(url)
            db.session.rollback()
            after = _fingerprint()
            assert after == before, f"GET {url} as {role} changed {set(after.items()) ^ set(before.items())}"

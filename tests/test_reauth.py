"""Admin actions need a password confirmed within QA_REAUTH_MINUTES; cookies carry the right flags."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func

from qa import create_app
from qa.auth.sessions import FRESH_POST_ENDPOINTS
from qa.extensions import db
from qa.models import AuditEvent, CanonicalAnswer, User
from qa.services.accounts import create_api_token
from qa.services.answers import post_answer
from tests.factories import PASSWORD, make_question
from tests.test_permissions import CELLS, POLICY


def go_stale(client, minutes=16):
    with client.session_transaction() as session:
        session["confirmed_at"] = int(time.time()) - minutes * 60


def role_change(client, username="city_expert", roles=("expert", "moderator"), active=True):
    data = {"name": "李专家", "org_code": "110100", "roles": list(roles), "specialities": ["criminal"]}
    if active:
        data["active"] = "y"  # an unticked box is absent
    return client.post(f"/admin/users/{username}", data=data,
                       headers={"Referer": f"http://localhost/admin/users/{username}"})


def roles_of(username):
    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one().roles


def test_logging_in_counts_as_a_fresh_confirmation(client, auth, people):
    auth.login("admin")
    assert role_change(client).status_code == 302
    assert "moderator" in roles_of("city_expert")


def test_a_stale_admin_is_sent_to_confirm_and_nothing_changes(client, auth, people):
    auth.login("admin")
    go_stale(client)
    response = role_change(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/confirm?next=/admin/users/city_expert")
    assert roles_of("city_expert") == {"asker", "expert"}

    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "确认身份" in html and "管理操作需要再次确认密码" in html

    wrong = client.post(response.headers["Location"], data={"password": "not-my-password"})
    assert wrong.status_code == 401 and "密码不正确" in wrong.get_data(as_text=True)
    assert role_change(client).status_code == 302 and roles_of("city_expert") == {"asker", "expert"}

    confirmed = client.post(response.headers["Location"], data={"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/admin/users/city_expert"
    assert role_change(client).headers["Location"] == "/admin/users/city_expert"
    assert roles_of("city_expert") == {"asker", "expert", "moderator"}
    confirmations = db.session.execute(
        db.select(func.count(AuditEvent.id)).filter_by(action="user.confirmed", actor_id=people["admin"].id)
    ).scalar_one()
    assert confirmations == 1


def test_the_window_is_configurable(app, client, auth, people):
    app.config["QA_REAUTH_MINUTES"] = 60
    auth.login("admin")
    go_stale(client, minutes=30)
    assert role_change(client).headers["Location"] == "/admin/users/city_expert"
    assert "moderator" in roles_of("city_expert")


def test_stale_password_reset_and_deactivation_and_creation_are_refused(client, auth, people):
    auth.login("admin")
    go_stale(client)
    before = db.session.execute(db.select(User.password_hash).filter_by(username="asker")).scalar_one()
    assert client.post("/admin/users/asker/password").status_code == 302
    assert role_change(client, "asker", roles=(), active=False).status_code == 302  # deactivation
    new = {"username": "newbie", "name": "新人", "org_code": "110105", "password": "a-fine-password-9"}
    assert "/auth/confirm" in client.post("/admin/users/new", data=new).headers["Location"]
    db.session.expire_all()
    assert db.session.execute(db.select(User.password_hash).filter_by(username="asker")).scalar_one() == before
    assert db.session.execute(db.select(User).filter_by(username="newbie")).first() is None
    assert db.session.execute(db.select(User.active).filter_by(username="asker")).scalar_one() is True


def test_stale_canonical_curation_is_refused(client, auth, people):
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    auth.login("admin")
    go_stale(client)
    response = client.post(f"/answers/{answer.id}/canonical", data={"text": "权威答复。"})
    assert "/auth/confirm" in response.headers["Location"]
    assert db.session.execute(db.select(func.count(CanonicalAnswer.id))).scalar_one() == 0


def test_stale_exports_need_confirmation_and_come_back_to_the_export(client, auth, people):
    auth.login("admin")
    go_stale(client)
    response = client.get("/admin/audit.csv")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/confirm?next=")
    confirmed = client.post(response.headers["Location"], data={"password": PASSWORD})
    assert confirmed.headers["Location"] == "/admin/audit.csv"
    assert client.get(confirmed.headers["Location"]).status_code == 200


def test_an_admin_creating_an_api_token_needs_confirmation(client, auth, people):
    auth.login("admin")
    go_stale(client)
    response = client.post("/profile", data={"token-name": "对接", "token-submit": "1"})
    assert "/auth/confirm" in response.headers["Location"]
    auth.logout()
    auth.login("asker")  # not an admin: no confirmation asked
    go_stale(client)
    assert client.post("/profile", data={"token-name": "对接", "token-submit": "1"}).status_code == 200


def test_non_admins_are_never_asked_and_still_refused(client, auth, people):
    auth.login("moderator")
    go_stale(client)
    assert role_change(client).status_code == 403


def test_api_tokens_are_not_asked(client, people):
    """Chosen: the API has no sessions; an admin's token is created only on a fresh confirmation."""
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    _token, raw = create_api_token(None, people["admin"], "对接")
    response = client.post(f"/api/v1/answers/{answer.id}/canonical", json={},
                           headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_the_fresh_list_names_only_admin_only_routes():
    endpoints = {endpoint for endpoint, _rule, method in CELLS if method == "POST"}
    assert FRESH_POST_ENDPOINTS <= endpoints
    for endpoint in FRESH_POST_ENDPOINTS:
        assert POLICY[endpoint] == {"admin"}, endpoint


# Cookies --------------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_lax_but_not_secure_over_http(client, people):
    cookie = client.post("/login", data={"username": "asker", "password": PASSWORD}).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("setting", [{"QA_HTTPS": True}, {"SESSION_COOKIE_SECURE": True}])
def test_session_cookie_is_secure_when_served_over_https(app_config, people, setting):
    secure = create_app({**app_config, **setting})
    try:
        response = secure.test_client().post("/login", data={"username": "asker", "password": PASSWORD},
                                             base_url="https://localhost")
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        if setting.get("QA_HTTPS"):
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        with secure.app_context():
            db.engine.dispose()

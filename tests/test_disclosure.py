"""What must not leak (RELIABILITY.md S15, S26, S33): hidden answers on every path, votes and flags off
the public trail, injection-shaped parameters, and secrets in the audit table and the logs."""
from __future__ import annotations

import json
import logging

import pytest

from qa.extensions import db
from qa.models import AuditEvent
from qa.services.accounts import create_api_token
from qa.services.answers import post_answer
from qa.services.quality import flag_answer, hide_answer, vote_helpful
from tests.factories import make_question

SECRET_ANSWER = "此答复含有待核实的内容（隐藏测试）"
PASSWORD = "demo-pass-2026"


@pytest.fixture
def hidden(people):
    """An answered question whose only answer a moderator has hidden; a vote and a flag on it."""
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, SECRET_ANSWER)
    vote_helpful(people["prov_expert"], answer)
    flag_answer(people["asker"], answer, "wrong_law", "引用条文有误")
    hide_answer(people["moderator"], answer, "内容待核实")
    return question, answer


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_api_token(None, user, 'test')[1]}"}


def test_a_hidden_answer_shows_on_no_page_or_api_call_for_ordinary_users(hidden, people, client, auth):
    question, answer = hidden
    auth.login("asker")
    for url in (f"/q/{question.number}", f"/q/{question.number}/history"):
        text = client.get(url).get_data(as_text=True)
        assert SECRET_ANSWER not in text, url
    auth.logout()
    data = client.get(f"/api/v1/questions/{question.number}", headers=bearer(people["asker"])).get_json()
    assert [a["id"] for a in data["answers"]] == []
    assert SECRET_ANSWER not in json.dumps(data, ensure_ascii=False)
    # Moderators still see it, marked, on the page and through the API.
    moderator = client.get(f"/api/v1/questions/{question.number}", headers=bearer(people["moderator"])).get_json()
    assert [a["id"] for a in moderator["answers"]] == [answer.id]


def test_who_voted_or_flagged_is_not_on_the_public_trail(hidden, people, client):
    question, _ = hidden
    data = client.get(f"/api/v1/questions/{question.number}", headers=bearer(people["city_expert"])).get_json()
    actions = {event["action"] for event in data["trail"]}
    assert "answer.posted" in actions
    assert not actions & {"answer.helpful", "answer.flagged"}


INJECTIONS = ["'", "\") OR 1=1--", "1; DROP TABLE question;--", "%' UNION SELECT password_hash FROM user --",
              "\u202e\u0000", "9" * 40, "-1", "醉驾' OR '1'='1"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_shaped_parameters_never_cause_a_server_error(value, people, client, auth):
    auth.login("moderator")
    urls = [f"/search?q={value}", f"/search?q=醉驾&category={value}&sort={value}&page={value}",
            f"/questions?category={value}&status={value}&page={value}", f"/moderation?category={value}&level={value}",
            f"/knowledge?category={value}&topic={value}", f"/admin/audit?actor={value}&number={value}&action={value}"]
    for url in urls:
        assert client.get(url).status_code < 500, url
    headers = bearer(people["moderator"])
    for url in (f"/api/v1/search?q={value}&category={value}&page={value}", f"/api/v1/questions/{value}"):
        assert client.get(url, headers=headers).status_code < 500, url


def test_passwords_and_tokens_never_reach_the_audit_table_or_the_log(people, client, auth, caplog):
    caplog.set_level(logging.DEBUG)
    auth.login("asker")
    client.post("/login", data={"username": "asker", "password": "wrong-" + PASSWORD})
    raw = create_api_token(people["asker"], people["asker"], "脚本")[1]
    client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {raw}"})
    client.get("/api/v1/inbox", headers={"Authorization": "Bearer not-a-real-token-0123456789"})
    details = " ".join(json.dumps(e.detail, ensure_ascii=False) for e in db.session.execute(
        db.select(AuditEvent)).scalars())
    logged = caplog.text
    for secret in (PASSWORD, raw, "not-a-real-token-0123456789"):
        assert secret not in details
        assert secret not in logged


def test_huge_page_numbers_are_bounded(people, client, auth):
    auth.login("moderator")
    for url in ("/notifications", "/questions", "/search?q=醉驾", "/moderation", "/admin/audit", "/knowledge"):
        assert client.get(f"{url}{'&' if '?' in url else '?'}page={'9' * 30}").status_code < 500, url


def test_a_nul_character_is_refused_with_a_message_and_saves_nothing(people, client, auth):
    from qa.models import Question

    before = db.session.execute(db.select(db.func.count()).select_from(Question)).scalar_one()
    auth.login("asker")
    response = client.post("/ask", data={"title": "醉驾\x00案件如何处理", "body": "内容", "category": "criminal",
                                          "legal_application": "y", "no_secrets": "y"})
    assert response.status_code == 400 and "控制字符" in response.get_data(as_text=True)
    api = client.post("/api/v1/questions", headers=bearer(people["asker"]),
                      json={"title": "醉驾\u0000案件", "body": "内容", "category": "criminal"})
    assert api.status_code == 400 and "控制字符" in api.get_json()["error"]["message"]
    assert db.session.execute(db.select(db.func.count()).select_from(Question)).scalar_one() == before


def test_log_lines_cannot_be_forged_and_refusals_are_logged(app, people, client, auth, capsys):
    """S34: user text with CR/LF or ANSI escapes stays inside one JSON record; S32: every 403 is logged."""
    forged = "x\r\n{\"level\": \"INFO\", \"message\": \"admin logged in\"}\x1b[31m"
    with app.test_request_context("/"):
        app.logger.warning("failed login for %s", forged)
    auth.login("asker")
    assert client.get("/admin/users").status_code == 403
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]  # jieba prints too
    records = [json.loads(line) for line in lines]  # every line of ours is one whole JSON record
    assert any(r["message"] == f"failed login for {forged}" for r in records)
    assert not any(r.get("message") == "admin logged in" for r in records)  # no forged record
    denied = [r for r in records if r["message"].startswith("access denied")]
    assert denied and denied[-1]["path"] == "/admin/users" and "asker" in denied[-1]["message"]
    assert all(r.get("correlation_id") for r in denied)

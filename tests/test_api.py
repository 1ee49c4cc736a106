"""The JSON API /api/v1: bearer tokens, response shapes, errors, and the whole loop through it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from qa.extensions import db
from qa.models import Answer, ApiToken, CanonicalAnswer, Question, QuestionCounter, Rating, User
from qa.services.accounts import create_api_token, revoke_api_token, update_user
from qa.services.answers import post_answer
from qa.timeutil import china_today, utcnow
from tests.factories import make_question, make_user

NUMBER_RE = re.compile(r"^JD\d{4}-110105-\d{5}$")
CJK = re.compile(r"[\u4e00-\u9fff]")
GOOD_SCORES = {"accuracy": 5, "basis": 4, "relevance": 4, "clarity": 5}


class Api:
    """Calls /api/v1 as one of the people, by their bearer token."""

    def __init__(self, client, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens

    def call(self, method: str, path: str, who: str | None = None, headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, who: str | None = None, **kwargs):
        return self.call("GET", path, who, **kwargs)

    def post(self, path: str, who: str | None = None, json=None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self.call("POST", path, who, **kwargs)


@pytest.fixture
def tokens(people):
    return {username: create_api_token(None, user, "test")[1] for username, user in people.items()}


@pytest.fixture
def api(client, tokens):
    return Api(client, tokens)


@pytest.fixture
def answered(people, tokens):
    """A question by the asker, routed to city_expert, who has answered it (built through services)."""
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一，构成危险驾驶罪。")
    return {"number": question.number, "answer_id": answer.id}


def user(username: str) -> User:
    """A fresh copy: each request ends the session, so objects from fixtures are detached."""
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def counts() -> dict[str, int]:
    return {model.__name__: db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
            for model in (Question, Answer, Rating, CanonicalAnswer)}


def error_of(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code
    assert CJK.search(error["message"]), error["message"]
    if field is not None:
        assert error["field"] == field
    return error


def question_body(**overrides) -> dict:
    body = {
        "title": "醉酒驾驶电动自行车是否构成危险驾驶罪？",
        "body": "电动自行车经鉴定属于**机动车**，行为人血液酒精含量 90mg/100ml，是否构成危险驾驶罪？",
        "category": "criminal",
        "tags": ["醉驾", "电动自行车"],
        "declarations": {"law_not_facts": True, "not_classified": True},
    }
    body.update(overrides)
    return body


# Authentication ------------------------------------------------------------------------------


BAD_AUTHORIZATION = [None, "", "Bearer", "Bearer ", "Bearer jd_not-a-real-token", "Token abc",
                     "Basic YXNrZXI6Y29ycmVjdC1ob3JzZS00Mg=="]


def test_missing_or_bad_token_is_401(api, subtests):
    for header in BAD_AUTHORIZATION:
        with subtests.test(header=header):
            headers = {"Authorization": header} if header is not None else {}
            response = api.get("/inbox", headers=headers)
            error_of(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scheme_is_case_insensitive(api, tokens):
    response = api.get("/inbox", headers={"Authorization": f"bearer {tokens['asker']}"})
    assert response.status_code == 200


def test_revoked_token_is_401(api, tokens):
    token = db.session.execute(db.select(ApiToken).filter_by(user_id=user("asker").id)).scalar_one()
    revoke_api_token(None, token)
    response = api.get("/categories", "asker")
    error_of(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_deactivated_user_is_401(api, tokens):
    assert api.get("/categories", "asker").status_code == 200
    update_user(None, user("asker"), active=False)
    error_of(api.get("/categories", "asker"), 401, "unauthorized")
    # Refused before the body is even looked at: nothing is saved.
    error_of(api.post("/questions", "asker", json=question_body()), 401, "unauthorized")
    assert counts()["Question"] == 0


def test_session_cookie_is_not_accepted(api, auth):
    assert auth.login("asker").status_code == 302
    assert api.client.get("/").status_code == 200  # the cookie works for the pages ...
    error_of(api.get("/inbox"), 401, "unauthorized")  # ... but not for the API
    error_of(api.post("/questions", json=question_body()), 401, "unauthorized")
    assert counts()["Question"] == 0


def test_unknown_paths_and_methods_give_json_errors(api):
    for who in ("asker", None):
        response = api.get("/no-such-call", who)
        assert response.status_code == 404 and response.is_json
        assert "error" in response.get_json()
    response = api.call("DELETE", "/categories", "asker")
    assert response.status_code == 405 and response.is_json


# Categories and asking ------------------------------------------------------------------------


def test_categories_in_order(api):
    response = api.get("/categories", "asker")
    assert response.status_code == 200
    categories = response.get_json()
    assert categories[0] == {"code": "criminal", "name": "刑事检察"}
    assert [c["code"] for c in categories][:3] == ["criminal", "criminal_ordinary", "criminal_major"]
    assert {"code": "general", "name": "综合（法律政策、检察理论等）"} in categories


def test_ask_returns_number_assignee_due_date_and_url(api):
    deadline = china_today() + timedelta(days=30)
    response = api.post("/questions", "asker", json=question_body(case_deadline=deadline.isoformat()))
    assert response.status_code == 201
    data = response.get_json()
    assert set(data) == {"number", "status", "assignee", "due_at", "url"}
    assert NUMBER_RE.match(data["number"])
    assert data["status"] == "assigned"
    assert data["assignee"] == {"username": "city_expert", "name": "李专家",
                                "procuratorate": "北京市人民检察院第一分院"}
    due = datetime.fromisoformat(data["due_at"])
    assert due.utcoffset() is not None
    assert timedelta(days=9) < due - utcnow() <= timedelta(days=10)
    assert data["url"] == f"http://localhost/q/{data['number']}"
    assert response.headers["Location"] == data["url"]

    question = db.session.execute(db.select(Question).filter_by(number=data["number"])).scalar_one()
    assert question.asker.username == "asker"
    assert question.case_deadline == deadline
    assert [t.name for t in question.tags] == sorted(["醉驾", "电动自行车"])


def test_ask_without_a_matching_expert_waits_for_manual_assignment(api):
    response = api.post("/questions", "asker", json=question_body(category="juvenile", tags=None))
    assert response.status_code == 201
    data = response.get_json()
    assert data["status"] == "pending" and data["assignee"] is None and data["due_at"] is None


def test_ask_at_the_length_limits(api):
    response = api.post("/questions", "asker", json=question_body(title="问" * 120, body="题" * 20_000))
    assert response.status_code == 201


BAD_QUESTIONS = [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "问" * 121}, "title"),
    ({"title": 42}, "title"),
    ({"title": None}, "title"),
    ({"body": ""}, "body"),
    ({"body": "题" * 20_001}, "body"),
    ({"body": ["not", "text"]}, "body"),
    ({"category": "no_such_line"}, "category"),
    ({"category": ""}, "category"),
    ({"category": 3}, "category"),
    ({"tags": {"a": 1}}, "tags"),
    ({"tags": ["一", "二", "三", "四", "五", "六"]}, "tags"),
    ({"declarations": None}, "declarations"),
    ({"declarations": "yes"}, "declarations"),
    ({"declarations": [True, True]}, "declarations"),
    ({"declarations": {}}, "declarations.law_not_facts"),
    ({"declarations": {"law_not_facts": True}}, "declarations.not_classified"),
    ({"declarations": {"law_not_facts": False, "not_classified": True}}, "declarations.law_not_facts"),
    ({"declarations": {"law_not_facts": True, "not_classified": False}}, "declarations.not_classified"),
    ({"declarations": {"law_not_facts": "true", "not_classified": True}}, "declarations.law_not_facts"),
    ({"declarations": {"law_not_facts": True, "not_classified": 1}}, "declarations.not_classified"),
    ({"case_deadline": "yesterday"}, "case_deadline"),
    ({"case_deadline": "2030/01/31"}, "case_deadline"),
    ({"case_deadline": "20300131"}, "case_deadline"),
    ({"case_deadline": "2030-02-30"}, "case_deadline"),
    ({"case_deadline": "2030-01-31T00:00:00"}, "case_deadline"),
    ({"case_deadline": 20300131}, "case_deadline"),
]


def test_ask_rejects_bad_input_and_saves_nothing(api, subtests):
    for overrides, field in BAD_QUESTIONS:
        with subtests.test(field=field, overrides=str(overrides)[:60]):
            response = api.post("/questions", "asker", json=question_body(**overrides))
            error_of(response, 422, "validation_error", field)
            assert counts() == {"Question": 0, "Answer": 0, "Rating": 0, "CanonicalAnswer": 0}


def test_ask_rejects_a_case_deadline_in_the_past(api):
    yesterday = (china_today() - timedelta(days=1)).isoformat()
    error_of(api.post("/questions", "asker", json=question_body(case_deadline=yesterday)),
             422, "validation_error", "case_deadline")
    assert counts()["Question"] == 0
    # A rejected question uses up no number: the next one is still 00001.
    assert db.session.execute(db.select(db.func.count()).select_from(QuestionCounter)).scalar_one() == 0
    number = api.post("/questions", "asker", json=question_body()).get_json()["number"]
    assert number.endswith("-00001")


def test_body_must_be_a_json_object(api, subtests):
    for raw in [b"{not json", b"", b"[1, 2]", b'"a string"', b"null", b"42", b"\xff\xfe"]:
        with subtests.test(raw=raw):
            response = api.post("/questions", "asker", data=raw, content_type="application/json")
            error_of(response, 400, "bad_request")
            assert counts()["Question"] == 0


# Reading a question ----------------------------------------------------------------------------


def test_get_question_shape(api, answered):
    response = api.get(f"/questions/{answered['number']}", "prov_expert")  # any logged-in user may read
    assert response.status_code == 200
    data = response.get_json()
    assert data["number"] == answered["number"]
    assert data["title"] == "醉酒驾驶机动车的认定标准是什么？"
    assert "<strong>危险驾驶罪</strong>" in data["body_html"]
    assert data["category"] == {"code": "criminal", "name": "刑事检察"}
    assert data["status"] == "answered"
    assert data["asker"] == {"username": "asker", "name": "张检察官", "procuratorate": "北京市朝阳区人民检察院"}
    assert data["assignee"]["username"] == "city_expert"
    assert datetime.fromisoformat(data["due_at"]).utcoffset() is not None
    [answer] = data["answers"]
    assert answer["id"] == answered["answer_id"]
    assert answer["author"] == {"username": "city_expert", "name": "李专家",
                                "procuratorate": "北京市人民检察院第一分院"}
    assert "第一百三十三条之一" in answer["body_html"]
    assert answer["rating"] == {"average": None, "count": 0}
    assert answer["accepted"] is False and answer["canonical"] is False
    assert [e["action"] for e in data["trail"]] == ["question.created", "question.assigned", "answer.posted"]
    created, assigned, posted = data["trail"]
    assert created["actor"] == "asker" and created["actor_name"] == "张检察官"
    assert created["procuratorate"] == "北京市朝阳区人民检察院"
    assert created["detail"]["category"] == "criminal"
    assert datetime.fromisoformat(created["at"]).utcoffset() is not None
    assert assigned["actor"] is None and assigned["actor_name"] is None  # routed by the system
    assert assigned["detail"]["expert"] == "city_expert"
    assert posted["actor"] == "city_expert"


def test_question_html_is_sanitized(api):
    body = question_body(body="看这里 <script>alert(1)</script> [链接](javascript:alert(2))")
    number = api.post("/questions", "asker", json=body).get_json()["number"]
    html = api.get(f"/questions/{number}", "asker").get_json()["body_html"]
    assert "<script" not in html and "javascript:" not in html


def test_unknown_question_is_404(api):
    error_of(api.get("/questions/JD2026-110105-99999", "asker"), 404, "not_found")
    error_of(api.post("/questions/JD2026-110105-99999/answers", "city_expert", json={"body": "答复"}),
             404, "not_found")
    error_of(api.post("/questions/JD2026-110105-99999/accept", "asker", json={"answer_id": 1}), 404, "not_found")


# Answering -------------------------------------------------------------------------------------


def test_assigned_expert_answers(api):
    number = api.post("/questions", "asker", json=question_body()).get_json()["number"]
    response = api.post(f"/questions/{number}/answers", "city_expert", json={"body": "构成危险驾驶罪。"})
    assert response.status_code == 201
    answer_id = response.get_json()["id"]
    answer = db.session.get(Answer, answer_id)
    assert answer.author.username == "city_expert" and answer.question.number == number
    assert answer.question.status == "answered"


def test_only_the_assigned_expert_answers(api, subtests):
    number = api.post("/questions", "asker", json=question_body()).get_json()["number"]
    for who in ["prov_expert", "asker", "moderator", "admin"]:
        with subtests.test(who=who):
            error_of(api.post(f"/questions/{number}/answers", who, json={"body": "越权答复。"}), 403, "forbidden")
            assert counts()["Answer"] == 0


def test_answer_rejects_bad_input(api, subtests):
    number = api.post("/questions", "asker", json=question_body()).get_json()["number"]
    for body, status, code, field in [
        ({"body": ""}, 422, "validation_error", "body"),
        ({"body": "   "}, 422, "validation_error", "body"),
        ({"body": "答" * 20_001}, 422, "validation_error", "body"),
        ({"body": 5}, 422, "validation_error", "body"),
        ({}, 422, "validation_error", "body"),
        (["答复"], 400, "bad_request", None),
    ]:
        with subtests.test(body=str(body)[:40]):
            error_of(api.post(f"/questions/{number}/answers", "city_expert", json=body), status, code, field)
            assert counts()["Answer"] == 0


# Rating ----------------------------------------------------------------------------------------


def test_moderator_rates(api, answered):
    response = api.post(f"/answers/{answered['answer_id']}/ratings", "moderator",
                        json={**GOOD_SCORES, "comment": "依据引用准确。"})
    assert response.status_code == 201
    data = response.get_json()
    assert data["answer_id"] == answered["answer_id"] and isinstance(data["id"], int)
    assert {k: data[k] for k in GOOD_SCORES} == GOOD_SCORES
    assert data["comment"] == "依据引用准确。"
    assert data["rater"]["username"] == "moderator"


def test_rating_twice_is_409(api, answered):
    path = f"/answers/{answered['answer_id']}/ratings"
    assert api.post(path, "moderator", json=GOOD_SCORES).status_code == 201
    error_of(api.post(path, "moderator", json={**GOOD_SCORES, "clarity": 3}), 409, "conflict")
    assert counts()["Rating"] == 1


BAD_RATINGS = [
    ({"accuracy": 0}, "accuracy"),
    ({"basis": 6}, "basis"),
    ({"relevance": "abc"}, "relevance"),
    ({"clarity": "4"}, "clarity"),
    ({"clarity": 4.5}, "clarity"),
    ({"accuracy": True}, "accuracy"),
    ({"basis": None}, "basis"),
    ({"accuracy": 2}, "comment"),
    ({"accuracy": 1, "comment": "   "}, "comment"),
    ({"comment": 123}, "comment"),
    ({"comment": "评" * 2001}, "comment"),
]


def test_rating_rejects_bad_input(api, answered, subtests):
    for overrides, field in BAD_RATINGS:
        with subtests.test(overrides=str(overrides)[:60]):
            body = {**GOOD_SCORES, **overrides}
            response = api.post(f"/answers/{answered['answer_id']}/ratings", "moderator", json=body)
            error_of(response, 422, "validation_error", field)
            assert counts()["Rating"] == 0
    body = {k: v for k, v in GOOD_SCORES.items() if k != "relevance"}
    error_of(api.post(f"/answers/{answered['answer_id']}/ratings", "moderator", json=body),
             422, "validation_error", "relevance")
    assert counts()["Rating"] == 0


def test_low_score_with_a_comment_is_accepted(api, answered):
    body = {**GOOD_SCORES, "basis": 2, "comment": "未引用司法解释。"}
    assert api.post(f"/answers/{answered['answer_id']}/ratings", "moderator", json=body).status_code == 201


def test_only_moderators_rate(api, answered, subtests):
    for who in ["asker", "city_expert", "admin"]:
        with subtests.test(who=who):
            response = api.post(f"/answers/{answered['answer_id']}/ratings", who, json=GOOD_SCORES)
            error_of(response, 403, "forbidden")
            assert counts()["Rating"] == 0


def test_moderator_cannot_rate_own_answer(client, people):
    expert_mod = make_user("expert_mod", "110100", roles=["expert", "moderator"], specialities=["civil"],
                           name="孙专家")
    api = Api(client, {"expert_mod": create_api_token(None, expert_mod, "test")[1]})
    question = make_question(people["asker"], title="民事支持起诉的条件是什么？", category="civil")
    assert question.assignee.username == "expert_mod"
    answer = post_answer(expert_mod, question, "依据《民事诉讼法》第十五条。")
    answer_id = answer.id
    error_of(api.post(f"/answers/{answer_id}/ratings", "expert_mod", json=GOOD_SCORES), 403, "forbidden")
    assert counts()["Rating"] == 0


def test_rating_unknown_answer_is_404(api):
    error_of(api.post("/answers/9999/ratings", "moderator", json=GOOD_SCORES), 404, "not_found")


# Accepting -------------------------------------------------------------------------------------


def test_asker_accepts(api, answered):
    response = api.post(f"/questions/{answered['number']}/accept", "asker", json={"answer_id": answered["answer_id"]})
    assert response.status_code == 200
    assert response.get_json() == {"number": answered["number"], "status": "resolved",
                                   "accepted_answer_id": answered["answer_id"]}
    error_of(api.post(f"/questions/{answered['number']}/accept", "asker", json={"answer_id": answered["answer_id"]}),
             409, "conflict")


def test_only_the_asker_accepts(api, answered):
    other = make_user("other_asker", "110108", name="周检察官")
    api.tokens["other_asker"] = create_api_token(None, other, "test")[1]
    for who in ("other_asker", "city_expert", "admin"):
        response = api.post(f"/questions/{answered['number']}/accept", who, json={"answer_id": answered["answer_id"]})
        error_of(response, 403, "forbidden")
    assert db.session.execute(db.select(Question.status)).scalar_one() == "answered"


def test_accept_needs_an_integer_answer_id(api, answered, subtests):
    for answer_id in [str(answered["answer_id"]), float(answered["answer_id"]), True, None, [answered["answer_id"]]]:
        with subtests.test(answer_id=answer_id):
            response = api.post(f"/questions/{answered['number']}/accept", "asker", json={"answer_id": answer_id})
            error_of(response, 422, "validation_error", "answer_id")
            assert db.session.execute(db.select(Question.accepted_answer_id)).scalar_one() is None


def test_accept_an_answer_to_another_question_is_422(api, answered):
    other = api.post("/questions", "asker", json=question_body()).get_json()["number"]
    response = api.post(f"/questions/{other}/accept", "asker", json={"answer_id": answered["answer_id"]})
    error_of(response, 422, "validation_error", "answer_id")
    response = api.post(f"/questions/{other}/accept", "asker", json={"answer_id": 9999})
    error_of(response, 422, "validation_error", "answer_id")


# Canonical answers ----------------------------------------------------------------------------


def test_admin_marks_canonical(api, answered):
    path = f"/answers/{answered['answer_id']}/canonical"
    response = api.post(path, "admin", json={"text": "醉驾电动自行车：**构成**危险驾驶罪。", "effective_date": "2026-01-01"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["answer_id"] == answered["answer_id"] and data["canonical"] is True
    assert "<strong>构成</strong>" in data["text_html"]
    assert data["effective_date"] == "2026-01-01"
    error_of(api.post(path, "admin", json={}), 409, "conflict")
    assert counts()["CanonicalAnswer"] == 1


def test_canonical_without_text_uses_the_answer(api, answered):
    response = api.post(f"/answers/{answered['answer_id']}/canonical", "admin")  # no body at all
    assert response.status_code == 200
    assert "第一百三十三条之一" in response.get_json()["text_html"]


def test_only_admins_mark_canonical(api, answered, subtests):
    for who in ["asker", "city_expert", "moderator"]:
        with subtests.test(who=who):
            error_of(api.post(f"/answers/{answered['answer_id']}/canonical", who, json={}), 403, "forbidden")
            assert counts()["CanonicalAnswer"] == 0


def test_canonical_rejects_bad_input(api, answered, subtests):
    for body, field in [({"text": 12}, "text"), ({"text": "权" * 20_001}, "text"),
                        ({"effective_date": "2026-13-01"}, "effective_date"), ({"effective_date": 1}, "effective_date")]:
        with subtests.test(body=str(body)[:40]):
            error_of(api.post(f"/answers/{answered['answer_id']}/canonical", "admin", json=body),
                     422, "validation_error", field)
            assert counts()["CanonicalAnswer"] == 0


def test_canonical_unknown_answer_is_404(api):
    error_of(api.post("/answers/9999/canonical", "admin", json={}), 404, "not_found")


# Inbox -----------------------------------------------------------------------------------------


def test_inbox_lists_open_assignments_by_due_date(api):
    later = api.post("/questions", "asker", json=question_body(title="较晚到期的问题")).get_json()["number"]
    soon = (china_today() + timedelta(days=4)).isoformat()
    sooner = api.post("/questions", "asker",
                      json=question_body(title="办案期限临近的问题", case_deadline=soon)).get_json()["number"]
    items = api.get("/inbox", "city_expert").get_json()["items"]
    assert [i["number"] for i in items] == [sooner, later]
    assert set(items[0]) == {"number", "title", "due_at", "overdue"}
    assert items[0]["title"] == "办案期限临近的问题" and items[0]["overdue"] is False
    assert datetime.fromisoformat(items[0]["due_at"]) < datetime.fromisoformat(items[1]["due_at"])

    # Nobody else has them; once answered they leave the inbox; past the due date they are overdue.
    assert api.get("/inbox", "prov_expert").get_json() == {"items": []}
    assert api.get("/inbox", "asker").get_json() == {"items": []}
    api.post(f"/questions/{sooner}/answers", "city_expert", json={"body": "答复。"})
    question = db.session.execute(db.select(Question).filter_by(number=later)).scalar_one()
    question.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    [item] = api.get("/inbox", "city_expert").get_json()["items"]
    assert item["number"] == later and item["overdue"] is True
    assert datetime.fromisoformat(item["due_at"]) < utcnow()


# The whole loop --------------------------------------------------------------------------------


def test_whole_loop_through_the_api(api):
    asked = api.post("/questions", "asker", json=question_body())
    assert asked.status_code == 201
    number = asked.get_json()["number"]
    assert asked.get_json()["assignee"]["username"] == "city_expert"

    assert [i["number"] for i in api.get("/inbox", "city_expert").get_json()["items"]] == [number]
    answered = api.post(f"/questions/{number}/answers", "city_expert",
                        json={"body": "依据《刑法》第一百三十三条之一，构成**危险驾驶罪**。"})
    assert answered.status_code == 201
    answer_id = answered.get_json()["id"]

    accepted = api.post(f"/questions/{number}/accept", "asker", json={"answer_id": answer_id})
    assert accepted.get_json()["status"] == "resolved"
    assert api.post(f"/answers/{answer_id}/ratings", "moderator", json=GOOD_SCORES).status_code == 201
    assert api.post(f"/answers/{answer_id}/canonical", "admin", json={}).status_code == 200

    data = api.get(f"/questions/{number}", "asker").get_json()
    assert data["status"] == "resolved" and data["accepted_answer_id"] == answer_id
    [answer] = data["answers"]
    assert answer["id"] == answer_id and answer["accepted"] is True and answer["canonical"] is True
    assert answer["rating"] == {"average": 4.5, "count": 1}
    assert [e["action"] for e in data["trail"]] == [
        "question.created", "question.assigned", "answer.posted", "answer.accepted", "answer.rated",
        "answer.canonical",
    ]
    assert [e["actor"] for e in data["trail"]] == ["asker", None, "city_expert", "asker", "moderator", "admin"]
    assert data["trail"][4]["detail"]["accuracy"] == 5
    assert api.get("/inbox", "city_expert").get_json() == {"items": []}

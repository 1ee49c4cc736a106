"""Object-level access: every route with an object id or number, tried with a valid request by
someone who may not act on that object (another asker, an expert not assigned, a moderator, an
admin of another province, the author of the answer); mass assignment; no self-rating,
self-acceptance or self-curation. A refusal is 403 or 404 and leaves every table as it was."""
from __future__ import annotations

import pytest
from sqlalchemy import func

from qa.extensions import db
from qa.models import Answer, ApiToken, Question, Rating, User
from qa.services.accounts import create_api_token, update_user
from qa.services.answers import post_answer
from tests.conftest import AuthActions
from tests.factories import make_question, make_user
from tests.test_permissions import world  # noqa: F401  (fixture re-used)

SKIPPED_TABLES = {"index_task"}  # the search outbox: drained after any request, a cache, not state


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table: any insert, update or delete shows here."""
    db.session.rollback()
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        stmt = db.select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(stmt)]
    return rows


def changed(before, after) -> dict[str, list]:
    return {name: sorted(set(after[name]) ^ set(before[name]), key=str) for name in before
            if after[name] != before[name]}


@pytest.fixture
def idor_world(world, people):  # noqa: F811
    users, values = world
    make_user("js_admin", "320000", roles=["admin"], name="江苏管理员")
    make_user("moderator2", "110000", roles=["moderator"], name="周评查")
    make_user("city_admin", "110100", roles=["admin"], name="市院管理员")
    question = db.session.execute(db.select(Question).filter_by(number=values["number"])).scalar_one()
    values["fresh_number"] = make_question(people["asker"], title="另一个问题：取保候审的期限如何计算？").number
    tokens = {name: create_api_token(None, people[name] if name in people else lookup(name), "越权测试")[1]
              for name in ("asker", "other", "city_expert", "prov_expert", "moderator")}
    return question, values, tokens


def lookup(username: str) -> User:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def fill(url: str, values: dict) -> str:
    for key, value in values.items():
        url = url.replace("{" + key + "}", str(value))
    return url


RATING = {"accuracy": "5", "basis": "5", "relevance": "5", "clarity": "5", "comment": "很好"}

# (who, method, url, form data): each is refused. {number} is the asker's answered question,
# {answer_id} its answer by city_expert (canonical), {flag_id} a flag by "other", {batch_id} a
# draft batch with item {item_id}, {token_id} the asker's token, {notification_id} the asker's.
WEB_CASES = [
    ("other", "POST", "/q/{number}/supplements", {"body": "我来补充一下案情。"}),
    ("prov_expert", "POST", "/q/{number}/answers", {"body": "未分派的专家抢答。"}),
    ("moderator", "POST", "/q/{number}/answers", {"body": "评查员不答复。"}),
    ("other", "POST", "/q/{number}/accept", {"answer_id": "{answer_id}"}),
    ("city_expert", "POST", "/q/{number}/accept", {"answer_id": "{answer_id}"}),
    ("other", "POST", "/q/{number}/edit", {"title": "被他人改写的标题", "body": "改写", "reason": "试试"}),
    ("city_expert", "POST", "/q/{number}/edit", {"title": "被专家改写的标题", "body": "改写", "reason": "试试"}),
    ("other", "POST", "/q/{number}/close", {"reason": "withdrawn", "note": "替他撤回"}),
    ("prov_expert", "POST", "/q/{number}/transfer", {"transfer-to": "prov_expert", "transfer-reason": "转给自己"}),
    ("prov_expert", "POST", "/q/{number}/decline", {"decline-reason": "不是我的"}),
    ("other", "POST", "/q/{number}/escalate", {"escalate-reason": "提问人无权提请"}),
    ("prov_expert", "POST", "/q/{number}/consultants", {"consult-to": "moderator"}),
    ("moderator", "POST", "/q/{number}/curate", {}),
    ("prov_expert", "POST", "/answers/{answer_id}/edit", {"body": "篡改他人答复", "reason": "试试"}),
    ("other", "POST", "/answers/{answer_id}/rate", RATING),
    ("city_expert", "POST", "/answers/{answer_id}/rate", RATING),
    ("city_expert", "POST", "/answers/{answer_id}/helpful", {}),
    ("city_expert", "POST", "/answers/{answer_id}/flag", {"kind": "outdated", "reason": "举报自己"}),
    ("other", "POST", "/answers/{answer_id}/hide", {"reason": "看不顺眼"}),
    ("other", "POST", "/answers/{answer_id}/unhide", {"reason": "恢复"}),
    ("other", "POST", "/answers/{answer_id}/review", {}),
    ("moderator", "POST", "/answers/{answer_id}/canonical", {"text": "评查员不整理权威答复。"}),
    ("other", "POST", "/flags/{flag_id}/resolve", {"decision": "upheld", "note": "举报人自己处理"}),
    ("city_expert", "POST", "/flags/{flag_id}/resolve", {"decision": "dismissed", "note": "被举报人自己驳回"}),
    ("other", "POST", "/notifications/{notification_id}/open", {}),
    ("other", "POST", "/notifications/{notification_id}/read", {}),
    ("other", "POST", "/profile/tokens/{token_id}/revoke", {}),
    ("admin", "POST", "/profile/tokens/{token_id}/revoke", {}),
    ("other", "GET", "/batches/{batch_id}", None),
    ("other", "POST", "/batches/{batch_id}/edit", {"title": "改名"}),
    ("moderator", "POST", "/batches/{batch_id}/publish", {}),
    ("moderator", "POST", "/batches/{batch_id}/items", {"canonical_id": "{canonical_id}"}),
    ("other", "POST", "/batch-items/{item_id}", {"title": "改题"}),
    ("other", "POST", "/batch-items/{item_id}/move", {"direction": "up"}),
    ("other", "POST", "/batch-items/{item_id}/remove", {}),
    ("other", "POST", "/batch-items/{item_id}/deidentify", {}),
    ("moderator", "POST", "/knowledge/{canonical_id}/edit", {"text": "改写权威答复", "reason": "试试"}),
    ("moderator", "POST", "/knowledge/{canonical_id}/status", {"status": "repealed", "reason": "试试"}),
    ("moderator", "POST", "/admin/experts/city_expert", {"capacity": "0"}),
    ("other", "POST", "/admin/users/asker", {"name": "张检察官", "org_code": "110105", "roles": ["admin"],
                                             "active": "y"}),
    ("moderator", "POST", "/admin/users/asker/password", {}),
    ("js_admin", "POST", "/admin/queue/{fresh_number}/assign", {"q1-expert": "city_expert"}),
    ("moderator", "POST", "/admin/search/terms/{entry_id}/delete", {}),
    # Admins manage the accounts of their own procuratorate and below (hole fixed in issue 7).
    ("js_admin", "GET", "/admin/users/asker", None),
    ("js_admin", "POST", "/admin/users/asker", {"name": "张检察官", "org_code": "110105", "roles": ["admin"],
                                                "active": "y"}),
    ("js_admin", "POST", "/admin/users/asker/password", {}),
    ("city_admin", "POST", "/admin/users/admin/password", {}),
    ("city_admin", "POST", "/admin/users/city_admin", {"name": "市院管理员", "org_code": "110000",
                                                       "roles": ["admin"], "active": "y"}),
    ("js_admin", "POST", "/admin/users/new", {"username": "planted", "name": "某人", "org_code": "110105",
                                              "roles": ["admin"], "password": "a-fine-password-9"}),
]


@pytest.mark.parametrize(("who", "method", "url", "data"), WEB_CASES,
                         ids=[f"{who}-{method}-{url}" for who, method, url, _ in WEB_CASES])
def test_web_object_routes_refuse_and_change_nothing(app, idor_world, who, method, url, data):
    _question, values, _tokens = idor_world
    client = app.test_client()
    assert AuthActions(client).login(who).status_code == 302
    form = {k: ([fill(x, values) for x in v] if isinstance(v, list) else fill(v, values))
            for k, v in (data or {}).items()}
    before = snapshot()
    response = client.open(fill(url, values), method=method, data=form)
    assert response.status_code in (403, 404), response.status_code
    assert changed(before, snapshot()) == {}


API_CASES = [
    ("other", "/questions/{number}/accept", {"answer_id": "{answer_id}"}),
    ("city_expert", "/questions/{number}/accept", {"answer_id": "{answer_id}"}),
    ("prov_expert", "/questions/{number}/answers", {"body": "未分派的专家抢答。"}),
    ("other", "/questions/{number}/answers", {"body": "提问人不答复。"}),
    ("city_expert", "/answers/{answer_id}/ratings", {"accuracy": 5, "basis": 5, "relevance": 5, "clarity": 5}),
    ("other", "/answers/{answer_id}/ratings", {"accuracy": 5, "basis": 5, "relevance": 5, "clarity": 5}),
    ("moderator", "/answers/{answer_id}/canonical", {}),
    ("other", "/questions/{number}/transfer", {"to": "prov_expert", "reason": "替专家转交"}),
    ("prov_expert", "/questions/{number}/decline", {"reason": "不是我的"}),
    ("other", "/questions/{number}/escalate", {"reason": "提问人无权提请"}),
]


@pytest.mark.parametrize(("who", "url", "body"), API_CASES, ids=[f"{w}-{u}" for w, u, _ in API_CASES])
def test_api_object_routes_refuse_and_change_nothing(client, idor_world, who, url, body):
    _question, values, tokens = idor_world
    payload = {k: (int(fill(v, values)) if isinstance(v, str) and v.startswith("{") else v) for k, v in body.items()}
    before = snapshot()
    response = client.post("/api/v1" + fill(url, values), json=payload,
                           headers={"Authorization": f"Bearer {tokens[who]}"})
    assert response.status_code in (403, 404), (response.status_code, response.get_json())
    assert changed(before, snapshot()) == {}


# Self-rating, self-acceptance, self-curation ----------------------------------------------------


def test_a_moderator_who_wrote_the_answer_cannot_rate_it(client, auth, people):
    question = make_question(people["asker"])
    update_user(None, people["city_expert"], roles=["expert", "moderator"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    _token, raw = create_api_token(None, people["city_expert"], "对接")
    auth.login("city_expert")
    before = snapshot()
    assert client.post(f"/answers/{answer.id}/rate", data=RATING).status_code == 403
    api = client.post(f"/api/v1/answers/{answer.id}/ratings", headers={"Authorization": f"Bearer {raw}"},
                      json={"accuracy": 5, "basis": 5, "relevance": 5, "clarity": 5})
    assert api.status_code == 403
    assert changed(before, snapshot()) == {}
    assert db.session.execute(db.select(func.count(Rating.id))).scalar_one() == 0


def test_an_admin_who_wrote_the_answer_cannot_make_it_canonical(client, auth, people):
    question = make_question(people["asker"])
    update_user(None, people["city_expert"], roles=["expert", "admin"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    auth.login("city_expert")
    before = snapshot()
    assert client.post(f"/answers/{answer.id}/canonical", data={"text": "自己的答复列为权威"}).status_code == 403
    assert changed(before, snapshot()) == {}


def test_an_answer_to_another_question_cannot_be_accepted(client, auth, people):
    """The asker of question B names the answer of question A: refused, both unchanged."""
    first = make_question(people["asker"])
    other_answer = post_answer(people["city_expert"], first, "依据《刑法》第一百三十三条之一。")
    second = make_question(people["asker"], title="第二个问题：取保候审的期限如何计算？")
    post_answer(people["city_expert"], second, "依据《刑事诉讼法》第七十九条。")
    auth.login("asker")
    before = snapshot()
    response = client.post(f"/q/{second.number}/accept", data={"answer_id": str(other_answer.id)})
    assert response.status_code in (403, 404, 409, 422)
    assert changed(before, snapshot()) == {}


# Mass assignment ----------------------------------------------------------------------------------


def test_extra_fields_when_asking_change_nothing(client, auth, people):
    other = make_user("other", "110108")
    auth.login("asker")
    extras = {"status": "resolved", "number": "JD2026-999999-00001", "asker_id": str(other.id),
              "author_id": str(other.id), "org_id": "1", "id": "999", "accepted_answer_id": "1"}
    data = {"title": "醉酒驾驶机动车的认定标准是什么？", "body": "血液酒精含量达到多少时构成危险驾驶罪？",
            "category": "criminal", "law_not_facts": "y", "not_classified": "y", **extras}
    assert client.post("/ask", data=data).status_code == 302
    question = db.session.execute(db.select(Question)).scalar_one()
    assert question.asker_id == people["asker"].id and question.org_id == people["asker"].org_id
    assert question.number.startswith("JD") and "-110105-" in question.number and question.id != 999
    assert question.status in ("pending", "assigned") and question.accepted_answer_id is None


def test_extra_fields_in_api_json_change_nothing(client, people):
    other = make_user("other", "110108")
    _t, raw = create_api_token(None, people["asker"], "对接")
    _t, expert_raw = create_api_token(None, people["city_expert"], "对接")
    body = {"title": "醉酒驾驶机动车的认定标准是什么？", "body": "血液酒精含量达到多少时构成危险驾驶罪？",
            "category": "criminal", "declarations": {"law_not_facts": True, "not_classified": True},
            "status": "resolved", "number": "JD2026-999999-00001", "asker_id": other.id, "org_id": 1}
    response = client.post("/api/v1/questions", json=body, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 201, response.get_json()
    question = db.session.execute(db.select(Question)).scalar_one()
    assert question.asker_id == people["asker"].id and "-110105-" in question.number
    assert question.status in ("pending", "assigned")
    if question.status == "assigned":
        answer = client.post(f"/api/v1/questions/{question.number}/answers",
                             json={"body": "依据《刑法》。", "author_id": other.id, "question_id": 12345},
                             headers={"Authorization": f"Bearer {expert_raw}"})
        assert answer.status_code == 201
        posted = db.session.get(Answer, answer.get_json()["id"])
        assert posted.author_id == people["city_expert"].id and posted.question_id == question.id


def test_extra_fields_when_editing_a_question_change_nothing(client, auth, people):
    question = make_question(people["asker"])
    number, status, asker_id = question.number, question.status, question.asker_id
    auth.login("asker")
    response = client.post(f"/q/{number}/edit", data={
        "title": "醉酒驾驶机动车的认定标准（修改）", "body": "血液酒精含量达到多少时构成危险驾驶罪？",
        "reason": "补全标题", "status": "resolved", "number": "JD2026-999999-00001",
        "asker_id": str(people["moderator"].id), "org_id": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    edited = db.session.execute(db.select(Question).filter_by(number=number)).scalar_one()
    assert edited.title == "醉酒驾驶机动车的认定标准（修改）"
    assert (edited.status, edited.asker_id, edited.org_id) == (status, asker_id, people["asker"].org_id)


def test_extra_fields_on_the_profile_change_nothing(client, auth, people):
    auth.login("asker")
    before = snapshot()
    client.post("/profile", data={"roles": "admin", "role": "admin", "active": "y", "username": "root",
                                  "org_id": "1", "session_version": "0"})
    client.post("/settings/notifications", data={"user_id": str(people["moderator"].id), "roles": "admin"})
    after = snapshot()
    for table in ("user_account", "user_role", "api_token"):
        assert after[table] == before[table], table
    assert not lookup("asker").has_role("admin")


def test_extra_fields_in_the_admin_user_form_change_nothing(client, auth, people):
    auth.login("admin")
    response = client.post("/admin/users/asker", data={
        "name": "张检察官", "org_code": "110105", "active": "y", "username": "renamed",
        "session_version": "99", "password_hash": "x", "id": "1"})
    assert response.status_code == 302
    user = lookup("asker")
    assert user.username == "asker" and user.session_version != 99 and user.password_hash.startswith("$argon2id$")


def test_token_revocation_of_someone_else_leaves_the_token_working(client, auth, idor_world):
    _question, values, tokens = idor_world
    auth.login("other")
    assert client.post(f"/profile/tokens/{values['token_id']}/revoke").status_code == 404
    assert db.session.get(ApiToken, values["token_id"]).revoked_at is None


def test_admins_list_only_the_accounts_they_manage(client, auth, idor_world):
    auth.login("js_admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "js_admin" in page and "city_expert" not in page and "asker" not in page
    auth.logout()
    auth.login("admin")  # Beijing's provincial procuratorate: Beijing's accounts, not Jiangsu's
    page = client.get("/admin/users").get_data(as_text=True)
    assert "city_expert" in page and "js_admin" not in page

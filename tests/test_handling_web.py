"""Handling through the pages and the JSON API: the actions, their errors, the trail, the pool pages."""
from __future__ import annotations

from datetime import timedelta

import pytest

from qa.extensions import db
from qa.models import Notification
from qa.services.accounts import create_api_token, update_user
from qa.services.deadlines import sweep
from qa.services.experts import update_expert
from qa.services.handling import escalate_question
from qa.timeutil import china_today
from tests.factories import make_question, make_user


@pytest.fixture
def token(people):
    made: dict[str, dict] = {}

    def make(username):
        from qa.services.accounts import get_user

        if username not in made:
            user = get_user(username)
            made[username] = {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}
        return made[username]
    return make


# API ------------------------------------------------------------------------------------------


def test_api_transfer_decline_escalate_answer_with_assignee_and_due(client, people, token):
    make_user("city2", "110100", roles=["expert"], specialities=["criminal"], name="周专家")
    make_user("spp_expert", "100000", roles=["expert"], specialities=["criminal"])
    question = make_question(people["asker"])
    url = f"/api/v1/questions/{question.number}"

    r = client.post(f"{url}/transfer", json={"to": "city2", "reason": "由刑事专家周某办理"}, headers=token("city_expert"))
    assert r.status_code == 200, r.json
    assert r.json["assignee"]["username"] == "city2" and r.json["due_at"].endswith("+08:00")

    r = client.post(f"{url}/decline", json={"reason": "回避"}, headers=token("city2"))
    assert r.status_code == 200 and r.json["assignee"]["username"] == "prov_expert"

    r = client.post(f"{url}/escalate", json={"reason": "争议性问题", "urgent": False}, headers=token("prov_expert"))
    assert r.status_code == 200 and r.json["assignee"]["username"] == "spp_expert"

    r = client.post(f"{url}/escalate", json={"reason": "再请示"}, headers=token("spp_expert"))
    assert r.status_code == 409 and "最高人民检察院" in r.json["error"]["message"]


@pytest.mark.parametrize(("action", "body", "status", "field"), [
    ("decline", {}, 422, "reason"),
    ("decline", {"reason": "   "}, 422, "reason"),
    ("transfer", {"to": "moderator", "reason": "x"}, 422, "to"),
    ("transfer", {"to": "nobody", "reason": "x"}, 422, "to"),
    ("transfer", {"to": "civil_only", "reason": "x"}, 422, "to"),
    ("escalate", {"reason": "x", "urgent": "yes"}, 422, "urgent"),
    ("claim", {}, 409, None),
])
def test_api_errors_are_clear_and_change_nothing(client, people, token, action, body, status, field):
    make_user("civil_only", "110100", roles=["expert"], specialities=["civil"])
    question = make_question(people["asker"])
    before = (question.assignee.username, question.due_at)

    r = client.post(f"/api/v1/questions/{question.number}/{action}", json=body,
                    headers=token("prov_expert" if action == "claim" else "city_expert"))

    assert r.status_code == status, r.json
    assert r.json["error"]["message"]  # Chinese text
    if field:
        assert r.json["error"]["field"] == field
    db.session.expire_all()
    assert (question.assignee.username, question.due_at) == before


def test_api_claim_of_a_pending_question(client, people, token):
    juvenile = make_user("juv", "110000", roles=["expert"], specialities=["juvenile"])
    update_expert(people["admin"], juvenile, capacity=0)
    question = make_question(people["asker"], category="juvenile")
    update_expert(people["admin"], juvenile, capacity=5)

    r = client.post(f"/api/v1/questions/{question.number}/claim", headers=token("juv"))

    assert r.status_code == 200 and r.json["assignee"]["username"] == "juv" and r.json["status"] == "assigned"
    assert client.post(f"/api/v1/questions/{question.number}/claim", headers=token("juv")).status_code == 409


def test_api_handling_needs_the_right_person(client, people, token):
    question = make_question(people["asker"])
    r = client.post(f"/api/v1/questions/{question.number}/transfer", json={"to": "prov_expert", "reason": "x"},
                    headers=token("asker"))
    assert r.status_code == 403
    assert client.post(f"/api/v1/questions/{question.number}/claim").status_code == 401


# Pages ----------------------------------------------------------------------------------------


def test_question_page_shows_actions_to_the_responsible_expert_and_the_whole_trail(client, auth, people):
    question = make_question(people["asker"], case_deadline=china_today() + timedelta(days=5))
    escalate_question(people["city_expert"], question, "新类型：虚拟货币洗钱")
    sweep(question.due_at - timedelta(hours=12))
    sweep(question.due_at + timedelta(hours=1))

    auth.login("asker")
    page = client.get(f"/q/{question.number}").get_data(as_text=True)
    for label in ("提问", "分派", "提请上级", "到期提醒", "超期"):
        assert f"<strong>{label}</strong>" in page
    assert "新类型：虚拟货币洗钱" in page and "北京市人民检察院第一分院" in page
    assert "办案期限临近" in page
    assert "转交其他专家" not in page  # the asker sees no handling actions


def test_expert_transfers_on_the_page_and_errors_are_shown(client, auth, people):
    make_user("city2", "110100", roles=["expert"], specialities=["criminal"], name="周专家")
    make_user("civil_only", "110100", roles=["expert"], specialities=["civil"], name="孙专家")
    question = make_question(people["asker"])
    auth.login("city_expert")
    page = client.get(f"/q/{question.number}").get_data(as_text=True)
    assert "转交其他专家" in page and "提请上级院" in page and "退回" in page
    assert 'value="city2"' in page and 'value="civil_only"' not in page  # only experts covering the line offered

    r = client.post(f"/q/{question.number}/transfer", data={"transfer-to": "civil_only", "transfer-reason": "民事部分较多"},
                    follow_redirects=True)
    assert "孙专家的专业领域不包括“刑事检察”" in r.get_data(as_text=True)
    db.session.expire_all()
    assert question.assignee.username == "city_expert"

    r = client.post(f"/q/{question.number}/transfer", data={"transfer-to": "city2", "transfer-reason": ""},
                    follow_redirects=True)
    assert "请填写转交理由" in r.get_data(as_text=True)
    r = client.post(f"/q/{question.number}/transfer", data={"transfer-to": "city2", "transfer-reason": "民事部分较多"},
                    follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "已转交" in text and "<strong>转交</strong>" in text and "民事部分较多" in text
    assert client.post(f"/q/{question.number}/transfer",
                       data={"transfer-to": "prov_expert", "transfer-reason": "x"}).status_code == 403


def test_claimable_queue_and_claim_on_the_page(client, auth, people):
    juvenile = make_user("juv", "110000", roles=["expert"], specialities=["juvenile"])
    update_expert(people["admin"], juvenile, leave_until=china_today())
    question = make_question(people["asker"], category="juvenile")
    update_expert(people["admin"], juvenile, leave_until="")

    auth.login("juv")
    assert question.number in client.get("/experts/claimable").get_data(as_text=True)
    r = client.post(f"/q/{question.number}/claim", follow_redirects=True)
    assert "已认领问题" in r.get_data(as_text=True)
    assert question.number not in client.get("/experts/claimable").get_data(as_text=True)


def test_admin_manages_the_pool_on_the_page(client, auth, people):
    auth.login("admin")
    assert "李专家" in client.get("/admin/experts").get_data(as_text=True)
    r = client.post("/admin/experts/city_expert", data={"capacity": "3", "leave_until": "2030-01-01",
                                                        "specialities": ["criminal"], "tags": "认罪认罚"})
    assert r.status_code == 302
    page = client.get("/admin/experts").get_data(as_text=True)
    assert "休假至 2030-01-01" in page and "认罪认罚" in page and "0 / 3" in page
    r = client.post("/admin/experts/city_expert", data={"capacity": "-1"})
    assert r.status_code == 422 and "在办上限" in r.get_data(as_text=True)


def test_directory_shows_quality_and_timeliness_beside_the_count(client, auth, people):
    from qa.services.answers import post_answer, rate_answer

    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依照《刑法》第一百三十三条之一。")
    rate_answer(people["moderator"], answer, {"accuracy": 5, "basis": 4, "relevance": 5, "clarity": 4})

    auth.login("asker")
    page = client.get("/experts").get_data(as_text=True)
    assert "李专家" in page and "4.5（1 次）" in page and "小时" in page


def test_notifications_mark_one_read_and_settings(client, auth, people):
    make_question(people["asker"])
    note = db.session.execute(db.select(Notification).filter_by(user_id=people["city_expert"].id)).scalars().first()
    auth.login("city_expert")
    assert client.post(f"/notifications/{note.id}/read").status_code == 302
    db.session.expire_all()
    assert note.read_at is not None

    r = client.post("/settings/notifications", data={"email": "li@jc.example", "email_mode": "digest",
                                                     "categories": ["civil"]})
    assert r.status_code == 302
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert 'value="li@jc.example"' in page


def test_escalation_to_a_deactivated_level_goes_to_its_admins(people):
    update_user(people["admin"], people["prov_expert"], active=False)
    question = make_question(people["asker"])
    escalate_question(people["city_expert"], question, "争议")
    assert question.status == "pending"
    assert db.session.execute(db.select(Notification).filter_by(user_id=people["admin"].id, kind="unassigned")
                              ).scalars().first() is not None


def test_the_asker_reopens_a_resolved_question_on_its_page(client, auth, people):
    from qa.services.answers import post_answer
    from qa.services.questions import accept_answer

    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    accept_answer(people["asker"], question, answer.id)
    auth.login("asker")
    assert "重新开启此问题" in client.get(f"/q/{question.number}").get_data(as_text=True)

    r = client.post(f"/q/{question.number}/reopen", data={"reopen-reason": ""}, follow_redirects=True)
    assert "请填写重新开启理由" in r.get_data(as_text=True)
    r = client.post(f"/q/{question.number}/reopen", data={"reopen-reason": "新司法解释已施行"}, follow_redirects=True)

    text = r.get_data(as_text=True)
    assert "已重新开启" in text and "<strong>重新开启</strong>" in text and "新司法解释已施行" in text
    assert "重新开启此问题" not in text
    db.session.expire_all()
    assert question.status == "assigned" and question.assignee.username == "city_expert"
    auth.logout()
    auth.login("city_expert")
    assert client.post(f"/q/{question.number}/reopen", data={"reopen-reason": "x"}).status_code == 403

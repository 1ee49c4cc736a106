"""Handling a question: the expert pool's availability, claim, transfer, decline, escalation, consultation."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from qa.errors import Conflict, PermissionDenied, ValidationError
from qa.extensions import db
from qa.models import Assignment, AuditEvent, Escalation, Notification, Question
from qa.services.accounts import update_user
from qa.services.answers import post_answer
from qa.services.experts import update_expert
from qa.services.handling import (
    add_consultant,
    claim_question,
    decline_question,
    escalate_question,
    transfer_question,
)
from qa.timeutil import china_today
from tests.factories import make_question, make_user


def actions(question) -> list[str]:
    return list(db.session.execute(
        db.select(AuditEvent.action).filter_by(question_id=question.id).order_by(AuditEvent.id)).scalars())


def state(question) -> tuple:
    """What must not change when an action is refused."""
    db.session.expire_all()
    q = db.session.get(Question, question.id)
    leads = [(a.expert_id, a.active) for a in q.assignments]
    return q.status, q.due_at, leads, len(actions(q))


def notes(user, kind=None) -> list[Notification]:
    stmt = db.select(Notification).filter_by(user_id=user.id)
    if kind:
        stmt = stmt.filter_by(kind=kind)
    return list(db.session.execute(stmt).scalars())


@pytest.fixture
def spp_expert(people):
    return make_user("spp_expert", "100000", roles=["expert"], specialities=["criminal", "juvenile"], name="最高检专家")


# The pool: capacity, leave, term -------------------------------------------------------------


def test_full_expert_gets_no_new_question_and_load_counts_relative_to_capacity(people):
    second = make_user("city2", "110100", roles=["expert"], specialities=["criminal"])
    update_expert(people["admin"], people["city_expert"], capacity=1)
    update_expert(people["admin"], second, capacity=4)

    first = make_question(people["asker"])
    assert first.assignee.username == "city_expert"  # both idle: lower id
    # city_expert is now full (1/1); city2 takes the next ones while below capacity.
    assert [make_question(people["asker"]).assignee.username for _ in range(4)] == ["city2"] * 4
    assert make_question(people["asker"]).assignee.username == "prov_expert"  # the city level is full


def test_expert_on_leave_or_out_of_term_gets_nothing_new(people):
    today = china_today()
    update_expert(people["admin"], people["city_expert"], leave_until=today)
    assert make_question(people["asker"]).assignee.username == "prov_expert"

    update_expert(people["admin"], people["city_expert"], leave_until=today - timedelta(days=1))
    assert make_question(people["asker"]).assignee.username == "city_expert"  # back from leave

    update_expert(people["admin"], people["city_expert"], term_end=today - timedelta(days=1))
    update_expert(people["admin"], people["prov_expert"], term_start=today + timedelta(days=1))
    question = make_question(people["asker"])
    assert question.status == "pending"  # nobody in term above the asker


def test_tags_prefer_the_matching_expert_among_equally_loaded(people):
    tagged = make_user("city_tagged", "110100", roles=["expert"], specialities=["criminal"])
    update_expert(people["admin"], tagged, tags="认罪认罚")

    question = make_question(people["asker"], tags=["认罪认罚"])

    assert question.assignee.username == "city_tagged"


def test_only_admins_manage_the_pool_and_only_for_experts(people):
    with pytest.raises(PermissionDenied):
        update_expert(people["city_expert"], people["city_expert"], capacity=50)
    with pytest.raises(ValidationError):
        update_expert(people["admin"], people["asker"], capacity=5)
    with pytest.raises(ValidationError):
        update_expert(people["admin"], people["city_expert"], term_start="2026-05-01", term_end="2026-04-01")


# Claim ----------------------------------------------------------------------------------------


def test_expert_claims_an_unassigned_question_in_their_speciality(people):
    juvenile = make_user("juv_city", "110100", roles=["expert"], specialities=["criminal"])
    question = make_question(people["asker"], category="juvenile")
    assert question.status == "pending"
    update_user(people["admin"], juvenile, specialities=["juvenile"])

    claim_question(juvenile, question)

    assert question.status == "assigned" and question.assignee.id == juvenile.id
    assert question.due_at is not None
    assert actions(question)[-1] == "question.claimed"


def test_claim_refused_for_assigned_question_other_speciality_or_own_procuratorate(people):
    assigned = make_question(people["asker"])
    before = state(assigned)
    with pytest.raises(Conflict, match="已有承办专家"):
        claim_question(people["prov_expert"], assigned)
    assert state(assigned) == before

    pending = make_question(people["asker"], category="juvenile")
    with pytest.raises(PermissionDenied, match="专业领域"):
        claim_question(people["city_expert"], pending)
    local = make_user("chaoyang_expert", "110105", roles=["expert"], specialities=["juvenile"])
    with pytest.raises(PermissionDenied, match="答疑范围"):
        claim_question(local, pending)
    assert pending.status == "pending" and pending.assignments == []


def test_two_experts_claiming_at_once_exactly_one_wins(app, people):
    a = make_user("juv_a", "110100", roles=["expert"], specialities=["juvenile"])
    b = make_user("juv_b", "110000", roles=["expert"], specialities=["juvenile"])
    update_expert(people["admin"], a, leave_until=china_today())  # keep routing off them while asking
    update_expert(people["admin"], b, leave_until=china_today())
    question = make_question(people["asker"], category="juvenile")
    assert question.status == "pending"
    update_expert(people["admin"], a, leave_until="")
    update_expert(people["admin"], b, leave_until="")
    ids, number = (a.id, b.id), question.number
    db.session.remove()

    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def claim(user_id):
        with app.app_context():
            from qa.models import User

            user = db.session.get(User, user_id)
            q = db.session.execute(db.select(Question).filter_by(number=number)).scalar_one()
            assert q.assignments == []  # loaded before the race, as a page would have
            barrier.wait()
            try:
                claim_question(user, q)
                outcomes[user_id] = "won"
            except Conflict:
                outcomes[user_id] = "lost"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(outcomes.values()) == ["lost", "won"]
    q = db.session.execute(db.select(Question).filter_by(number=number)).scalar_one()
    leads = [x for x in q.assignments if x.active and x.is_lead]
    assert len(leads) == 1 and outcomes[leads[0].expert_id] == "won"
    assert actions(q).count("question.claimed") == 1


# Transfer ---------------------------------------------------------------------------------------


def test_transfer_with_reason_keeps_the_due_date_and_is_on_the_trail(people):
    second = make_user("city2", "110100", roles=["expert"], specialities=["criminal"], name="周专家")
    question = make_question(people["asker"])
    due = question.due_at

    transfer_question(people["city_expert"], question, "city2", "周专家长期办理醉驾案件，由其办理更合适")

    assert question.assignee.id == second.id and question.due_at == due
    event = db.session.execute(db.select(AuditEvent).filter_by(question_id=question.id, action="question.transferred")
                               ).scalar_one()
    assert event.actor_id == people["city_expert"].id
    assert event.detail["reason"] == "周专家长期办理醉驾案件，由其办理更合适" and event.detail["expert"] == "city2"
    assert [a.active for a in question.assignments] == [False, True]
    assert len(notes(second, "assigned")) == 1


@pytest.mark.parametrize(("to", "reason", "message"), [
    ("city2", "  ", "请填写转交理由"),
    ("nobody", "理由", "不存在"),
    ("retired", "理由", "已停用"),
    ("moderator", "理由", "不是答疑专家"),
    ("chaoyang_expert", "理由", "不是提问人所在院的上级院"),
    ("asker", "理由", "不是答疑专家"),
    ("city_expert", "理由", "不能转交给自己"),
])
def test_transfer_refused_with_a_clear_message_and_nothing_changed(people, to, reason, message):
    make_user("city2", "110100", roles=["expert"], specialities=["criminal"])
    retired = make_user("retired", "110100", roles=["expert"], specialities=["criminal"])
    update_user(people["admin"], retired, active=False)
    make_user("chaoyang_expert", "110105", roles=["expert"], specialities=["criminal"])
    question = make_question(people["asker"])
    before = state(question)

    with pytest.raises(ValidationError, match=message):
        transfer_question(people["city_expert"], question, to, reason)

    assert state(question) == before


def test_transfer_to_an_expert_outside_the_business_line_is_refused(people):
    make_user("civil_only", "110100", roles=["expert"], specialities=["civil"], name="孙专家")
    question = make_question(people["asker"])
    before = state(question)

    with pytest.raises(ValidationError, match="孙专家的专业领域不包括“刑事检察”"):
        transfer_question(people["city_expert"], question, "civil_only", "涉及民事部分")

    assert state(question) == before
    assert not db.session.execute(db.select(AuditEvent).filter_by(question_id=question.id,
                                                                   action="question.transferred")).first()


def test_the_parent_line_covers_its_sub_lines_on_transfer(people):
    """As in routing: an expert of 刑事检察 takes a 经济犯罪 question; a 经济犯罪 expert takes no 刑事检察 one."""
    make_user("economic", "110100", roles=["expert"], specialities=["criminal_economic"], name="吴专家")
    sub_line = make_question(people["asker"], category="criminal_economic")
    assert sub_line.assignee.username == "city_expert"
    transfer_question(people["city_expert"], sub_line, "economic", "由经济犯罪专家办理")
    transfer_question(sub_line.assignee, sub_line, "prov_expert", "涉及多个罪名，由刑事检察专家办理")
    assert sub_line.assignee.username == "prov_expert"
    parent_line = make_question(people["asker"], title="另一个刑事问题")
    with pytest.raises(ValidationError, match="吴专家的专业领域不包括"):
        transfer_question(parent_line.assignee, parent_line, "economic", "理由")


def test_only_the_responsible_expert_transfers(people):
    question = make_question(people["asker"])
    with pytest.raises(PermissionDenied):
        transfer_question(people["prov_expert"], question, "prov_expert", "理由")


def test_transfer_to_an_expert_on_leave_is_refused(people):
    update_expert(people["admin"], people["prov_expert"], leave_until=china_today() + timedelta(days=3))
    question = make_question(people["asker"])
    with pytest.raises(ValidationError, match="休假"):
        transfer_question(people["city_expert"], question, "prov_expert", "理由")


# Decline --------------------------------------------------------------------------------------


def test_decline_needs_a_reason_then_reroutes_to_someone_else(people):
    question = make_question(people["asker"])
    before = state(question)
    with pytest.raises(ValidationError, match="请填写退回理由"):
        decline_question(people["city_expert"], question, "")
    assert state(question) == before

    decline_question(people["city_expert"], question, "本人系该案承办人近亲属，需回避")

    assert question.assignee.username == "prov_expert"
    assert actions(question)[-2:] == ["question.declined", "question.rerouted"]


def test_decline_with_nobody_else_goes_to_the_admins_queue(people):
    update_user(people["admin"], people["prov_expert"], active=False)
    question = make_question(people["asker"])

    decline_question(people["city_expert"], question, "不属于本人专业")

    assert question.status == "pending" and question.assignee is None and question.due_at is None
    assert notes(people["admin"], "unassigned")


# Escalation -----------------------------------------------------------------------------------


def test_escalation_goes_one_level_at_a_time_up_to_the_spp_and_no_further(people, spp_expert):
    question = make_question(people["asker"])
    assert question.assignee.org.code == "110100"

    escalate_question(people["city_expert"], question, "新类型问题：虚拟货币洗钱的认定")
    assert question.assignee.username == "prov_expert"
    escalate_question(people["prov_expert"], question, "各地认识分歧较大")
    assert question.assignee.username == "spp_expert"
    before = state(question)
    with pytest.raises(Conflict, match="最高人民检察院"):
        escalate_question(spp_expert, question, "再请示")
    assert state(question) == before

    chain = db.session.execute(db.select(Escalation).filter_by(question_id=question.id).order_by(Escalation.id)
                               ).scalars().all()
    assert [(e.from_org.code, e.to_org.code) for e in chain] == [("110100", "110000"), ("110000", "100000")]
    assert all(e.kind == "requested" for e in chain)
    assert question.number == question.number  # one number throughout
    assert len(notes(people["asker"], "escalated")) == 2


def test_escalation_needs_a_reason(people):
    question = make_question(people["asker"])
    before = state(question)
    with pytest.raises(ValidationError):
        escalate_question(people["city_expert"], question, "")
    assert state(question) == before


def test_escalation_never_skips_a_level_unless_urgent(people, spp_expert):
    update_user(people["admin"], people["prov_expert"], specialities=["civil"])
    question = make_question(people["asker"])

    escalate_question(people["city_expert"], question, "争议较大")

    # Nobody at the province covers it: the question waits there, its admins are told.
    assert question.status == "pending" and question.assignee is None
    assert notes(people["admin"], "unassigned")
    last = db.session.execute(db.select(Escalation).filter_by(question_id=question.id)).scalar_one()
    assert last.to_org.code == "110000"

    urgent = make_question(people["asker"])
    escalate_question(people["city_expert"], urgent, "办案期限紧迫", urgent=True)
    assert urgent.assignee.username == "spp_expert"


# Consultation ---------------------------------------------------------------------------------


def test_consultant_answers_alongside_the_responsible_expert(people):
    question = make_question(people["asker"])
    add_consultant(people["city_expert"], question, "prov_expert")

    assert question.assignee.username == "city_expert"  # still 主办
    post_answer(people["prov_expert"], question, "会商意见：应当依照《刑法》第一百三十三条之一处理。")
    assert question.status == "answered"
    consultant = db.session.execute(
        db.select(Assignment).filter_by(question_id=question.id, is_lead=False)).scalar_one()
    assert consultant.expert_id == people["prov_expert"].id and consultant.active

    with pytest.raises(PermissionDenied):
        add_consultant(people["asker"], question, "prov_expert")


def test_a_consultant_made_responsible_holds_one_role_and_one_inbox_line(people, client, auth):
    from qa.services.routing import assign
    from qa.timeutil import utcnow

    question = make_question(people["asker"])
    add_consultant(people["city_expert"], question, "prov_expert")
    assign(question, people["prov_expert"], by=people["admin"], now=utcnow(), reason="manual")
    db.session.commit()
    active = db.session.execute(db.select(Assignment).filter_by(
        question_id=question.id, expert_id=people["prov_expert"].id, active=True)).scalars().all()
    assert [a.is_lead for a in active] == [True]
    auth.login("prov_expert")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox.count(f'href="/q/{question.number}"') == 1
    page = client.get(f"/q/{question.number}").get_data(as_text=True)
    assert "会商专家：" not in page


# Reopen ---------------------------------------------------------------------------------------


def resolved(people):
    from qa.services.questions import accept_answer

    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    accept_answer(people["asker"], question, answer.id)
    assert question.status == "resolved"
    return question


def test_the_asker_reopens_a_resolved_question_and_it_goes_back_to_its_expert(people):
    from qa.services.handling import reopen_question

    question = resolved(people)
    with pytest.raises(ValidationError, match="请填写重新开启理由"):
        reopen_question(people["asker"], question, " ")
    db.session.rollback()

    new = reopen_question(people["asker"], question, "司法解释已修改，请按新规定答复")

    assert question.status == "assigned" and question.accepted_answer_id is None
    assert new.expert_id == people["city_expert"].id and question.due_at == new.due_at
    event = db.session.execute(db.select(AuditEvent).filter_by(question_id=question.id, action="question.reopened")
                               ).scalar_one()
    assert event.actor_id == people["asker"].id and event.detail["previous_status"] == "resolved"
    assert event.detail["reason"] == "司法解释已修改，请按新规定答复" and event.detail["expert"] == "city_expert"
    assert actions(question)[-2:] == ["question.reopened", "question.assigned"]
    assert notes(people["city_expert"], "assigned")[-1].question_id == question.id
    with pytest.raises(Conflict, match="只有已办结或已关闭的问题"):
        reopen_question(people["asker"], question, "再次")


def test_reopen_is_refused_to_others_and_to_the_asker_after_the_window(people):
    from qa.services.handling import reopen_question

    question = resolved(people)
    make_user("other", "110108")
    from qa.services.accounts import get_user

    before = state(question)
    with pytest.raises(PermissionDenied, match="只有提问人、质量评查员或管理员"):
        reopen_question(get_user("other"), question, "理由")
    with pytest.raises(PermissionDenied, match="超过 30 天"):
        reopen_question(people["asker"], question, "理由", now=question.updated_at + timedelta(days=31))
    assert state(question) == before and question.status == "resolved"
    # A moderator may reopen it any time.
    reopen_question(people["moderator"], question, "答复引用的条文已废止", now=question.updated_at + timedelta(days=60))
    assert question.status == "assigned"
    assert notes(people["asker"], "reopened")


def test_a_moderator_reopens_a_duplicate_and_the_asker_may_not(people):
    from qa.services.handling import reopen_question
    from qa.services.quality import close_question

    original = make_question(people["asker"], title="醉驾的血液酒精标准？")
    duplicate = make_question(people["asker"])
    close_question(people["moderator"], duplicate, "duplicate", "与前一问题重复", duplicate_of=original.number)
    with pytest.raises(PermissionDenied, match="因“.*”关闭"):
        reopen_question(people["asker"], duplicate, "并不重复")

    reopen_question(people["moderator"], duplicate, "经核实并不重复")

    assert duplicate.status == "assigned" and duplicate.duplicate_of_id is None and duplicate.close_reason is None
    event = db.session.execute(db.select(AuditEvent).filter_by(action="question.reopened")).scalar_one()
    assert event.detail["close_reason"] == "duplicate" and event.detail["duplicate_of"] == original.number

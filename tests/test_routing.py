"""Routing: which expert a new question goes to, by when, and what the handling trail records."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from qa.extensions import db
from qa.models import Assignment, AuditEvent, Notification
from qa.services.accounts import update_user
from qa.services.answers import post_answer
from qa.services.routing import compute_due
from qa.timeutil import china_today, end_of_china_day
from tests.factories import make_question, make_user


def trail(question) -> list[AuditEvent]:
    return list(db.session.execute(
        db.select(AuditEvent).filter_by(question_id=question.id).order_by(AuditEvent.id)
    ).scalars())


def notifications(user, kind: str) -> list[Notification]:
    return list(db.session.execute(db.select(Notification).filter_by(user_id=user.id, kind=kind)).scalars())


def test_grassroots_question_goes_to_city_expert_with_the_speciality(people):
    question = make_question(people["asker"], category="criminal")

    assert question.status == "assigned"
    assert question.assignee.username == "city_expert"
    assert question.active_assignment.org.code == "110100"
    assert len(notifications(people["city_expert"], "assigned")) == 1


def test_sub_line_is_covered_by_expert_of_the_parent_line(people):
    question = make_question(people["asker"], category="criminal_economic")

    assert question.category.parent_code == "criminal"
    assert question.assignee.username == "city_expert"


def test_no_matching_expert_at_city_goes_to_province(people):
    question = make_question(people["asker"], category="civil")

    assert question.assignee.username == "prov_expert"
    assert question.active_assignment.org.code == "110000"


def test_no_expert_anywhere_leaves_question_pending_and_tells_the_chains_admins(people, orgs):
    local_admin = make_user("chaoyang_admin", "110105", roles=["admin"])
    other_chain_admin = make_user("jiangsu_admin", "320000", roles=["admin"])
    inactive_admin = make_user("retired_admin", "110000", roles=["admin"])
    update_user(None, inactive_admin, active=False)

    question = make_question(people["asker"], category="juvenile")

    assert question.status == "pending"
    assert question.assignments == []
    assert question.due_at is None
    assert [e.action for e in trail(question)] == ["question.created", "question.unrouted"]
    for admin in (people["admin"], local_admin):
        (note,) = notifications(admin, "unassigned")
        assert note.question_id == question.id and question.number in note.message
    assert notifications(other_chain_admin, "unassigned") == []
    assert notifications(inactive_admin, "unassigned") == []


def test_least_loaded_expert_first_ties_by_id(people):
    second = make_user("city_expert2", "110100", roles=["expert"], specialities=["criminal"])
    first = people["city_expert"]
    assert first.id < second.id

    q1 = make_question(people["asker"])
    q2 = make_question(people["asker"])
    q3 = make_question(people["asker"])

    assert q1.assignee.id == first.id  # tie 0:0 -> lower id
    assert q2.assignee.id == second.id  # 1:0 -> the less loaded one
    assert q3.assignee.id == first.id  # tie 1:1 -> lower id again


def test_answered_questions_no_longer_count_as_load(people):
    second = make_user("city_expert2", "110100", roles=["expert"], specialities=["criminal"])
    first = people["city_expert"]
    assert first.id < second.id
    q1 = make_question(people["asker"])
    assert q1.assignee.id == first.id
    post_answer(first, q1, "依照《刑法》第一百三十三条之一处理。")

    q2 = make_question(people["asker"])

    assert q2.assignee.id == first.id  # the answered question no longer counts: 0:0, first by id


def test_deactivated_expert_is_skipped(people):
    update_user(people["admin"], people["city_expert"], active=False)

    question = make_question(people["asker"])

    assert question.assignee.username == "prov_expert"


def test_expert_without_the_speciality_is_skipped(people):
    make_user("civil_city", "110100", roles=["expert"], specialities=["civil"])
    make_user("no_role_city", "110100", specialities=["juvenile"])  # a speciality but not an expert

    civil = make_question(people["asker"], category="civil")
    juvenile = make_question(people["asker"], category="juvenile")

    assert civil.assignee.username == "civil_city"
    assert juvenile.status == "pending"


def test_expert_at_the_askers_own_grassroots_procuratorate_is_not_used(people):
    make_user("chaoyang_expert", "110105", roles=["expert"], specialities=["criminal"])
    update_user(people["admin"], people["city_expert"], active=False)

    question = make_question(people["asker"])

    assert question.assignee.username == "prov_expert"


def test_question_from_the_spp_goes_to_spp_experts_never_to_the_asker(people):
    spp_asker = make_user("spp_asker", "100000", roles=["expert"], specialities=["criminal"])
    spp_colleague = make_user("spp_expert", "100000", roles=["expert"], specialities=["criminal"])

    question = make_question(spp_asker)

    # The asker has the lower id and no load, yet is never chosen for their own question.
    assert spp_asker.id < spp_colleague.id
    assert question.assignee.id == spp_colleague.id
    assert question.number.startswith(f"JD{question.year}-100000-")


def test_spp_asker_who_is_the_only_spp_expert_is_left_unassigned(people):
    spp_asker = make_user("spp_asker", "100000", roles=["expert"], specialities=["criminal"])

    question = make_question(spp_asker)

    assert question.status == "pending"
    assert question.assignments == []


# Due dates ------------------------------------------------------------------------------


def test_due_date_is_ten_days_after_assignment_by_default(app, people):
    question = make_question(people["asker"])

    assignment = question.active_assignment
    assert app.config["QA_ANSWER_DAYS"] == 10
    assert assignment.due_at - assignment.assigned_at == timedelta(days=10)
    assert question.due_at == assignment.due_at


def test_due_date_follows_configured_answer_days(app, people):
    app.config["QA_ANSWER_DAYS"] = 3

    question = make_question(people["asker"])

    assignment = question.active_assignment
    assert assignment.due_at - assignment.assigned_at == timedelta(days=3)


def test_case_deadline_shortens_due_date_to_three_days_before(people):
    deadline = china_today() + timedelta(days=6)

    question = make_question(people["asker"], case_deadline=deadline)

    assert question.case_deadline == deadline
    assert question.due_at == end_of_china_day(deadline) - timedelta(days=3)
    assert question.due_at < question.active_assignment.assigned_at + timedelta(days=10)


def test_case_deadline_too_close_for_the_margin_is_due_at_end_of_that_day(people):
    deadline = china_today()

    question = make_question(people["asker"], case_deadline=deadline)

    assert question.due_at == end_of_china_day(deadline)


def test_distant_case_deadline_keeps_the_default_due_date(people):
    question = make_question(people["asker"], case_deadline=china_today() + timedelta(days=60))

    assignment = question.active_assignment
    assert assignment.due_at - assignment.assigned_at == timedelta(days=10)



@pytest.mark.parametrize(
    ("now", "deadline", "expected"),
    [
        # no case deadline: 10 days
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), None, datetime(2026, 3, 12, 2, 0, tzinfo=UTC)),
        # far deadline: the 10 days come first
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "2026-03-20", datetime(2026, 3, 12, 2, 0, tzinfo=UTC)),
        # deadline 8 March (China): end of that day is 16:00 UTC; 3 days before
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "2026-03-08", datetime(2026, 3, 5, 16, 0, tzinfo=UTC)),
        # the margin has already passed: due at the end of the deadline day
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "2026-03-04", datetime(2026, 3, 4, 16, 0, tzinfo=UTC)),
        # 17:00 UTC on 1 March is already 2 March in China: same-day deadline ends at 16:00 UTC on 2 March
        (datetime(2026, 3, 1, 17, 0, tzinfo=UTC), "2026-03-02", datetime(2026, 3, 2, 16, 0, tzinfo=UTC)),
        # margin exactly reached (target == now): falls back to the end of the deadline day
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "2026-03-04", datetime(2026, 3, 4, 16, 0, tzinfo=UTC)),
    ],
)
def test_compute_due(app, now, deadline, expected):
    case_deadline = date.fromisoformat(deadline) if deadline else None
    assert compute_due(now, case_deadline) == expected


def test_compute_due_uses_configured_margin(app):
    app.config["QA_CASE_DEADLINE_MARGIN_DAYS"] = 1
    due = compute_due(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), date(2026, 3, 8))
    assert due == datetime(2026, 3, 7, 16, 0, tzinfo=UTC)


# Handling trail -------------------------------------------------------------------------


def test_handling_trail_records_creation_then_assignment(people):
    question = make_question(people["asker"])

    events = trail(question)
    assert [e.action for e in events] == ["question.created", "question.assigned"]
    created, assigned = events
    assert created.actor_id == people["asker"].id
    assert assigned.actor_id is None  # automatic routing is done by the system
    assert {e.question_number for e in events} == {question.number}
    assert assigned.detail["expert"] == "city_expert"
    assert assigned.object_id == str(question.active_assignment.id)
    assigned_due = datetime.fromisoformat(assigned.detail["due_at"])
    assert assigned_due == question.due_at
    assert db.session.execute(
        db.select(Assignment).filter_by(question_id=question.id, active=True)
    ).scalar_one().expert_id == people["city_expert"].id

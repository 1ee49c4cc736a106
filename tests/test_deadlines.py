"""The deadline sweep with a controllable clock: reminders, overdue, one-level escalation, idempotency."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func

from qa.extensions import db
from qa.models import AuditEvent, DeadlineReminder, Escalation, Notification, Question
from qa.services.answers import post_answer
from qa.services.deadlines import sweep
from qa.timeutil import china_today, format_china
from tests.factories import make_question, make_user

H = timedelta(hours=1)
D = timedelta(days=1)


def count(model, **filters) -> int:
    stmt = db.select(func.count()).select_from(model)
    for key, value in filters.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.execute(stmt).scalar_one()


def kinds(user, kind) -> list[str]:
    return list(db.session.execute(
        db.select(Notification.message).filter_by(user_id=user.id, kind=kind).order_by(Notification.id)).scalars())


def trail(question) -> list[str]:
    return list(db.session.execute(
        db.select(AuditEvent.action).filter_by(question_id=question.id).order_by(AuditEvent.id)).scalars())


def fresh(question) -> Question:
    db.session.expire_all()
    return db.session.get(Question, question.id)


@pytest.fixture
def admins(people):
    return {"city": make_user("city_admin", "110100", roles=["admin"]),
            "prov": people["admin"],
            "spp": make_user("spp_admin", "100000", roles=["admin"])}


def test_reminders_three_days_and_one_day_before_each_once(people):
    question = make_question(people["asker"])
    due = question.due_at
    expert = people["city_expert"]

    assert sweep(due - 4 * D).reminders == 0
    assert sweep(due - 3 * D + H).reminders == 1
    assert sweep(due - 3 * D + 2 * H).reminders == 0  # idempotent
    assert sweep(due - D + H).reminders == 1
    assert sweep(due - D + 2 * H).reminders == 0

    messages = kinds(expert, "reminder")
    assert len(messages) == 2 and all(question.number in m and format_china(due) in m for m in messages)
    assert [r.kind for r in db.session.execute(db.select(DeadlineReminder).order_by(DeadlineReminder.id)).scalars()
            ] == ["before:3d", "before:1d"]
    assert trail(question).count("question.reminded") == 2


def test_a_sweep_after_a_pause_skips_stale_reminders(people):
    question = make_question(people["asker"])

    report = sweep(question.due_at - 12 * H)  # the 3-day moment passed unseen

    assert report.by_kind == {"before:1d": 1}
    assert len(kinds(people["city_expert"], "reminder")) == 1


def test_configured_reminder_days(app, people):
    app.config["QA_REMINDER_DAYS"] = "5,2"
    question = make_question(people["asker"])
    assert sweep(question.due_at - 4 * D).by_kind == {"before:5d": 1}
    assert sweep(question.due_at - D).by_kind == {"before:2d": 1}


def test_overdue_question_is_escalated_one_level_and_both_levels_admins_told(people, admins):
    question = make_question(people["asker"])
    due = question.due_at

    report = sweep(due + H)

    assert (report.overdue, report.escalated) == (1, 1)
    question = fresh(question)
    assert question.assignee.username == "prov_expert"
    assert question.due_at == due + H + timedelta(days=10)  # the next level gets its own 10 days
    assert trail(question)[-2:] == ["question.overdue", "question.escalated"]
    escalation = db.session.execute(db.select(Escalation)).scalar_one()
    assert (escalation.kind, escalation.from_org.code, escalation.to_org.code) == ("overdue", "110100", "110000")
    assert escalation.actor_id is None
    assert kinds(people["city_expert"], "overdue")
    for admin in (admins["city"], admins["prov"]):
        assert any(question.number in m for m in kinds(admin, "escalated"))
    assert kinds(admins["spp"], "escalated") == []
    assert kinds(people["asker"], "escalated")

    second = sweep(due + 2 * H)
    assert (second.overdue, second.escalated, second.reminders) == (0, 0, 0)


def test_overdue_escalates_level_by_level_to_the_spp_and_stops_there(people, admins):
    make_user("spp_expert", "100000", roles=["expert"], specialities=["criminal"])
    question = make_question(people["asker"])

    levels = []
    for _ in range(4):
        question = fresh(question)
        now = question.due_at + H
        sweep(now)
        question = fresh(question)
        levels.append(question.assignee.org.code)

    assert levels == ["110000", "100000", "100000", "100000"]
    assert count(Escalation) == 2
    assert count(DeadlineReminder, kind="overdue") == 3  # city, province, SPP: each marked once
    assert any(question.number in m for m in kinds(admins["spp"], "overdue"))
    assert question.is_overdue(question.due_at + H)


def test_a_week_long_pause_escalates_once_not_once_per_missed_run(people, admins):
    question = make_question(people["asker"])
    due = question.due_at

    report = sweep(due + 7 * D)

    assert (report.reminders, report.overdue, report.escalated) == (0, 1, 1)
    assert fresh(question).assignee.username == "prov_expert"
    assert sweep(due + 7 * D + H).escalated == 0


def test_urgent_question_skips_a_level_without_an_expert_others_wait_there(people, admins):
    make_user("spp_expert", "100000", roles=["expert"], specialities=["criminal"])
    from qa.services.accounts import update_user

    update_user(people["admin"], people["prov_expert"], specialities=["civil"])
    calm = make_question(people["asker"])
    urgent = make_question(people["asker"], case_deadline=china_today() + timedelta(days=6))
    assert urgent.due_at < calm.due_at  # the case deadline shortened it

    sweep(calm.due_at + H)

    urgent, calm = fresh(urgent), fresh(calm)
    assert urgent.assignee.username == "spp_expert"  # skipped the province: case deadline near
    assert calm.status == "pending" and calm.assignee is None  # waits at the province
    assert any(calm.number in m for m in kinds(admins["prov"], "unassigned"))


def test_answered_questions_are_neither_reminded_nor_escalated(people):
    question = make_question(people["asker"])
    post_answer(people["city_expert"], question, "依照《刑法》第一百三十三条之一。")

    report = sweep(question.due_at + D)

    assert (report.reminders, report.overdue) == (0, 0)


def test_sweep_command_runs_as_of_a_given_time(runner, people):
    question = make_question(people["asker"])
    moment = (question.due_at + H).isoformat()

    result = runner.invoke(args=["deadlines", "sweep", "--now", moment])

    assert result.exit_code == 0, result.output
    assert "新超期 1 件" in result.output and "提请上级 1 件" in result.output
    assert runner.invoke(args=["deadlines", "sweep", "--now", "yesterday"]).exit_code != 0


# A killed sweep -----------------------------------------------------------------------------------


def test_sweep_killed_half_way_then_rerun_loses_and_repeats_nothing(app, people, tmp_path):
    """Kill -9 a real `flask deadlines sweep` process mid-run; the re-run completes the work exactly once."""
    from qa.extensions import begin_write
    from qa.models import Assignment
    from qa.timeutil import utcnow

    for i in range(3):
        make_user(f"city_more{i}", "110100", roles=["expert"], specialities=["criminal"])
    template = make_question(people["asker"])
    now = utcnow()
    # Many open questions due soon (reminders) and overdue (escalations), written in bulk.
    begin_write()
    for i in range(160):
        q = Question(number=f"{template.number}-K{i}", org_id=template.org_id, year=template.year, seq=10_000 + i,
                     asker_id=template.asker_id, category_code="criminal", title=f"批量问题{i}", body_md="x",
                     body_html="<p>x</p>", status="assigned", due_at=now + (-H if i % 2 else 20 * H))
        db.session.add(q)
        db.session.flush()
        db.session.add(Assignment(question_id=q.id, expert_id=people["city_expert"].id, org_id=people["city_expert"].org_id,
                                  due_at=q.due_at, assigned_at=now - 9 * D))
    db.session.commit()
    db.session.remove()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        from tests.conftest import PG_SCHEMA

        url += f"?options=-csearch_path%3D{PG_SCHEMA}"  # the subprocess works in this run's schema
    env = dict(os.environ, QA_DATABASE_URL=url, QA_SECRET_KEY="x", QA_SMTP_HOST="")
    env.pop("TEST_DATABASE_URL", None)
    log = (tmp_path / "sweep.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "deadlines", "sweep", "--batch-size",
                             "20", "--escalation-batch-size", "20", "--now", (now + 1 * H).isoformat()], env=env, cwd=app.root_path + "/..",
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline:
        seen = db.session.execute(db.select(func.count()).select_from(Escalation)).scalar_one()
        db.session.rollback()
        if seen >= 3 or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    log.close()
    partial = count(Escalation)
    assert 0 < partial < 80, (tmp_path / "sweep.log").read_text()

    sweep(now + 1 * H)
    sweep(now + 1 * H)

    assert count(DeadlineReminder, kind="before:1d") == 80
    assert count(DeadlineReminder, kind="overdue") == 80
    assert count(Escalation) == 80
    reminders = db.session.execute(
        db.select(func.count()).select_from(Notification).where(Notification.kind == "reminder")).scalar_one()
    assert reminders == 80
    assert db.session.execute(db.select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "question.escalated")).scalar_one() == 80


# Pending questions (the admins' unassigned queue) ---------------------------------------------------


def test_pending_questions_remind_the_admins_of_the_origin_and_above_once_per_window(people, admins):
    elsewhere = make_user("js_admin", "320000", roles=["admin"])
    question = make_question(people["asker"], category="juvenile")  # nobody covers 未成年人检察
    assert question.status == "pending" and question.due_at is None
    promised = question.created_at + 10 * D
    told = [admins["city"], admins["prov"], admins["spp"]]

    assert sweep(promised - 4 * D).pending_reminded == 0
    assert sweep(promised - 3 * D + H).pending_reminded == 1
    assert sweep(promised - 3 * D + 2 * H).pending_reminded == 0  # idempotent
    assert sweep(promised - 12 * H).pending_reminded == 1  # the 1-day window
    report = sweep(promised + H)
    assert report.pending_reminded == 1 and "待分派问题催办 1 件" in report.summary()
    assert sweep(promised + 2 * H).pending_reminded == 0

    for admin in told:
        messages = [m for m in kinds(admin, "unassigned") if "仍无承办专家" in m]
        assert len(messages) == 3, messages
        assert "不足 3 天" in messages[0] and "不足 1 天" in messages[1] and "已超过答复期限" in messages[2]
        assert format_china(promised) in messages[2]
    assert not kinds(elsewhere, "unassigned")
    assert trail(question).count("question.pending_reminded") == 3
    assert count(Escalation) == 0 and fresh(question).status == "pending"


def test_a_pending_question_found_late_gets_only_the_overdue_reminder_and_none_once_assigned(people, admins):
    from qa.services.experts import update_expert
    from qa.services.handling import claim_question

    late = make_question(people["asker"], category="juvenile")
    claimed = make_question(people["asker"], title="未成年人附条件不起诉的考验期如何计算？", category="juvenile")
    juv = make_user("juv", "110000", roles=["expert"], specialities=["juvenile"])
    update_expert(people["admin"], juv, capacity=5)
    claim_question(juv, claimed)

    assert sweep(late.created_at + 8 * D).pending_reminded == 1  # the claimed one is no longer pending

    report = sweep(late.created_at + 12 * D)  # after a long pause: the 1-day reminder is stale, overdue only

    messages = [m for m in kinds(admins["prov"], "unassigned") if "仍无承办专家" in m and late.number in m]
    assert len(messages) == 2 and "不足 3 天" in messages[0] and "已超过答复期限" in messages[1]
    assert trail(late).count("question.pending_reminded") == 2
    # The claimed question went overdue, was escalated to a level with nobody, and is pending now.
    assert report.escalated == 1 and report.left_unassigned == 1

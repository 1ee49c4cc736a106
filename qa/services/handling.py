"""Handling a question: claim, transfer, decline, consult and escalate, each on the handling trail."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from qa.errors import Conflict, PermissionDenied, ValidationError
from qa.extensions import begin_write, db
from qa.models import (
    OPEN_STATUSES,
    Assignment,
    AuditEvent,
    Escalation,
    ExpertProfile,
    Procuratorate,
    Question,
    User,
    UserRole,
)
from qa.permissions import Permission, can, can_assign, can_moderate, require
from qa.services.audit import enqueue_index, notify, record
from qa.services.routing import (
    assign,
    expert_capacity,
    expert_load,
    find_expert,
    pool_orgs,
    queue_admins,
    route_question,
)
from qa.timeutil import china_today, utcnow

REASON_MAX = 500
ESCALATION_KINDS = {"requested": "专家提请", "overdue": "超期未答复"}


# Reading the state -------------------------------------------------------------------------


def handling_org(question: Question) -> Procuratorate:
    """The procuratorate whose experts currently handle the question (its level in the chain).

    The responsible expert's procuratorate; without one, where the last escalation sent it;
    otherwise the first pool above the asker's procuratorate.
    """
    lead = question.active_assignment
    if lead is not None:
        return lead.org
    last = db.session.execute(
        db.select(Escalation).filter_by(question_id=question.id).order_by(Escalation.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last is not None:
        return last.to_org
    return pool_orgs(question.org)[0]


def profile_of(user: User) -> ExpertProfile | None:
    return db.session.get(ExpertProfile, user.id)


def open_load_of(user: User) -> int:
    return db.session.execute(db.select(expert_load(db.literal(user.id)))).scalar_one()


def capacity_of(user: User) -> int:
    return db.session.execute(
        db.select(expert_capacity()).select_from(User)
        .outerjoin(ExpertProfile, ExpertProfile.user_id == User.id).where(User.id == user.id)
    ).scalar_one()


def unavailable_reason(user: User, now: datetime | None = None) -> str | None:
    """Why this expert cannot take a new question now (leave, term, capacity), or None."""
    profile = profile_of(user)
    today = china_today(now)
    if profile is not None:
        if profile.leave_until is not None and today <= profile.leave_until:
            return f"{user.name}休假至 {profile.leave_until.isoformat()}，暂不接收新问题。"
        if not profile.available_on(today):
            return f"{user.name}不在答疑专家聘期内，不能接收新问题。"
    capacity = capacity_of(user)
    if open_load_of(user) >= capacity:
        return f"{user.name}的在办问题已达上限（{capacity} 件），暂不能接收新问题。"
    return None


def covers(user: User, question: Question) -> bool:
    return bool(user.specialities & {question.category_code, question.category.parent_code})


def in_pool(user: User, question: Question) -> bool:
    """The expert's procuratorate is one a question from the asker's may go to (never the asker's own,
    except at the SPP, which has nobody above it)."""
    return user.org_id in {org.id for org in pool_orgs(question.org)}


def lead_of(question: Question) -> Assignment | None:
    return question.active_assignment


def my_assignment(user, question: Question) -> Assignment | None:
    return next((a for a in question.assignments if a.active and a.expert_id == user.id), None)


# Object checks (also used by the templates) -------------------------------------------------


def can_handle(user, question: Question) -> bool:
    """The responsible expert (主办) may transfer, escalate and invite consultants (while it is open)."""
    if not can(user, Permission.ANSWER):
        return False
    lead = lead_of(question)
    return lead is not None and lead.expert_id == user.id


def can_decline(user, question: Question) -> bool:
    """Any expert assigned to the question (主办 or 会商) may decline it (while it is open)."""
    return can(user, Permission.ANSWER) and my_assignment(user, question) is not None


def can_escalate(user, question: Question) -> bool:
    return can_handle(user, question) or can_assign(user)


def can_add_consultant(user, question: Question) -> bool:
    return can_handle(user, question) or can_assign(user)


def claim_problem(user, question: Question, now: datetime | None = None) -> str | None:
    """Why `user` may not claim `question`, or None when they may."""
    if not can(user, Permission.ANSWER):
        return "只有答疑专家可以认领问题。"
    if question.status != "pending" or lead_of(question) is not None:
        return "该问题已有承办专家，不能认领。"
    if user.id == question.asker_id:
        return "不能认领自己提出的问题。"
    if not covers(user, question):
        return "该问题不属于您的专业领域，不能认领。"
    level = handling_org(question)
    if user.org_id not in {level.id} | {org.id for org in level.ancestors()} or not in_pool(user, question):
        return "该问题不在您所在院的答疑范围内，不能认领。"
    return unavailable_reason(user, now)


def can_claim(user, question: Question) -> bool:
    return claim_problem(user, question) is None


# Small helpers ------------------------------------------------------------------------------


def _reason(value, label: str) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError("reason", f"{label}格式不正确。")
    value = (value or "").strip()
    if not value:
        raise ValidationError("reason", f"请填写{label}。")
    if len(value) > REASON_MAX:
        raise ValidationError("reason", f"{label}不能超过 {REASON_MAX} 个字。")
    return value


def _open(question: Question) -> None:
    if question.status not in OPEN_STATUSES:
        raise Conflict("该问题已答复或已关闭，不能再办理。")


def _end_assignment(assignment: Assignment, now: datetime) -> None:
    """End an assignment with a conditional UPDATE: if someone else ended it first, Conflict."""
    ended = db.session.execute(
        update(Assignment).where(Assignment.id == assignment.id, Assignment.active.is_(True))
        .values(active=False, ended_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended != 1:
        raise Conflict("该问题的承办情况已发生变化，请刷新后重试。")
    assignment.active = False
    assignment.ended_at = now


def org_admins(org_ids) -> list[User]:
    """Active admins of exactly these procuratorates (the levels concerned)."""
    return list(db.session.execute(
        db.select(User).join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == "admin"))
        .where(User.active.is_(True), User.org_id.in_(list(org_ids))).order_by(User.id)
    ).scalars())


def _target_expert(username) -> User:
    """The named expert to hand a question to; ValidationError when that cannot be."""
    if not isinstance(username, str) or not username.strip():
        raise ValidationError("to", "请填写接收问题的答疑专家用户名。")
    user = db.session.execute(
        db.select(User).filter_by(username=username.strip()).options(selectinload(User.role_rows))
    ).scalar_one_or_none()
    if user is None:
        raise ValidationError("to", f"用户“{username.strip()[:64]}”不存在。")
    if not user.active:
        raise ValidationError("to", f"{user.name}的账号已停用，不能接收问题。")
    if not user.has_role("expert"):
        raise ValidationError("to", f"{user.name}不是答疑专家，不能接收问题。")
    return user


def _check_receiver(user: User, question: Question, now: datetime) -> None:
    if user.id == question.asker_id:
        raise ValidationError("to", "不能交给提问人本人。")
    if not in_pool(user, question):
        raise ValidationError("to", f"{user.name}所在的{user.org.name}不是提问人所在院的上级院，不能接收该问题。")
    problem = unavailable_reason(user, now)
    if problem:
        raise ValidationError("to", problem)


def _previous_experts(question: Question) -> set[int]:
    return {a.expert_id for a in question.assignments}


def _leave_pending(question: Question, now: datetime, reason: str, level: Procuratorate,
                   admins_of=org_admins) -> None:
    """Nobody can take the question at `level`: back to the admins' queue, with the admins told."""
    question.status = "pending"
    question.due_at = None
    question.updated_at = now
    record(None, "question.unrouted", question, reason=reason, level=level.name)
    admins = {a.id: a for a in queue_admins(question.org)}
    admins.update({a.id: a for a in admins_of([level.id])})
    for admin in admins.values():
        notify(admin, "unassigned", f"问题 {question.number}《{question.title}》在{level.name}无可分派的答疑专家，"
                                    f"请人工分派。", question)


# Use cases ---------------------------------------------------------------------------------


def claim_question(expert: User, question: Question, now: datetime | None = None) -> Assignment:
    """认领: an expert takes an unassigned question in their specialities.

    Exactly one of several simultaneous claimers wins: the pending → assigned change is a
    conditional UPDATE (a row lock on PostgreSQL, the write lock on SQLite), and a unique index
    allows one responsible expert per question. The others get Conflict; nothing changes for them.
    """
    begin_write()
    now = now or utcnow()
    problem = claim_problem(expert, question, now)
    if problem is not None:
        if question.status != "pending" or lead_of(question) is not None:
            raise Conflict(problem)
        raise PermissionDenied(problem)
    won = db.session.execute(
        update(Question).where(Question.id == question.id, Question.status == "pending")
        .values(status="assigned", updated_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise Conflict("该问题已被其他专家认领。")
    question.status = "assigned"
    assignment = assign(question, expert, by=expert, now=now, action="question.claimed", reason="claim")
    enqueue_index(question)
    _commit_or_conflict("该问题已被其他专家认领。")
    return assignment


def transfer_question(expert: User, question: Question, to_username, reason, now: datetime | None = None
                      ) -> Assignment:
    """转交: the responsible expert hands the question to another expert, with a reason.

    The due date stays (the asker's promise does not restart). Raises PermissionDenied unless the
    caller is the responsible expert, ValidationError for a missing reason or an unfit receiver
    (inactive, not an expert, outside the pool, unavailable, or not covering the question's
    business line: as in routing, a parent line's speciality covers its sub-lines).
    """
    require(can_handle(expert, question), "只有该问题的主办专家可以转交。")
    reason = _reason(reason, "转交理由")
    target = _target_expert(to_username)
    if target.id == expert.id:
        raise ValidationError("to", "不能转交给自己。")
    begin_write()
    now = now or utcnow()
    _open(question)
    if not covers(target, question):
        raise ValidationError("to", f"{target.name}的专业领域不包括“{question.category.name}”，不能接收该问题；"
                                    f"请转交给覆盖该业务条线的答疑专家。")
    _check_receiver(target, question, now)
    lead = lead_of(question)
    if lead is None or lead.expert_id != expert.id:
        raise Conflict("该问题的承办情况已发生变化，请刷新后重试。")
    _end_assignment(lead, now)
    assignment = assign(question, target, by=expert, now=now, due=question.due_at, action="question.transferred",
                        reason=reason, from_expert=expert.username, from_name=expert.name,
                        from_org=expert.org.name)
    enqueue_index(question)
    _commit_or_conflict("该问题的承办情况已发生变化，请刷新后重试。")
    return assignment


def decline_question(expert: User, question: Question, reason, now: datetime | None = None) -> Assignment | None:
    """退回: an assigned expert declines, with a reason; the question is routed again.

    A consultant (会商) simply leaves. When the responsible expert declines, the question goes to
    another expert of the same level or above (never one who had it before), or to the admins'
    queue. Returns the new responsible assignment, if any.
    """
    require(can_decline(expert, question), "只有承办该问题的专家可以退回。")
    reason = _reason(reason, "退回理由")
    begin_write()
    now = now or utcnow()
    _open(question)
    mine = my_assignment(expert, question)
    if mine is None:
        raise Conflict("该问题的承办情况已发生变化，请刷新后重试。")
    level = handling_org(question)
    _end_assignment(mine, now)
    record(expert, "question.declined", mine, question=question, reason=reason,
           role="主办" if mine.is_lead else "会商")
    new = None
    if mine.is_lead:
        orgs = [level] + level.ancestors()
        exclude = _previous_experts(question) | {question.asker_id}
        target = find_expert(question.org, question.category, exclude, orgs=orgs, now=now,
                             tags=[t.name for t in question.tags])
        if target is not None:
            new = assign(question, target, by=None, now=now, action="question.rerouted", reason=reason,
                         declined_by=expert.name)
        else:
            _leave_pending(question, now, "退回后没有其他可分派的答疑专家", level)
    else:
        lead = lead_of(question)
        if lead is not None:
            notify(lead.expert, "declined", f"{expert.name}退出了问题 {question.number} 的会商：{reason}", question)
    enqueue_index(question)
    _commit_or_conflict("该问题的承办情况已发生变化，请刷新后重试。")
    return new


def add_consultant(actor: User, question: Question, username, now: datetime | None = None) -> Assignment:
    """会商: the responsible expert (or an admin) invites another expert to answer alongside."""
    require(can_add_consultant(actor, question), "只有主办专家或管理员可以邀请会商专家。")
    target = _target_expert(username)
    begin_write()
    now = now or utcnow()
    _open(question)
    if lead_of(question) is None:
        raise Conflict("该问题尚无主办专家，请先分派。")
    if my_assignment(target, question) is not None:
        raise ValidationError("to", f"{target.name}已在办理该问题。")
    _check_receiver(target, question, now)
    assignment = Assignment(question=question, expert_id=target.id, org_id=target.org_id, is_lead=False,
                            assigned_by_id=actor.id, assigned_at=now, due_at=question.due_at)
    db.session.add(assignment)
    question.updated_at = now
    record(actor, "question.consultant_added", assignment, question=question, expert=target.username,
           expert_name=target.name, expert_org=target.org.name)
    notify(target, "assigned", f"{actor.name}邀请您会商问题 {question.number}《{question.title}》。", question)
    db.session.commit()
    return assignment


def escalate_question(actor: User, question: Question, reason, urgent: bool = False,
                      now: datetime | None = None) -> Escalation:
    """提请上级: the responsible expert (or an admin) hands a new-type or disputed question up a level.

    Raises Conflict at the SPP (nothing above it), ValidationError without a reason. Urgent
    questions go to the nearest level above with an available expert; others to exactly the next
    level, or its admins' queue when nobody there can take it.
    """
    require(can_escalate(actor, question), "只有主办专家或管理员可以提请上级院办理。")
    reason = _reason(reason, "提请理由（新类型、争议性问题的说明）")
    if not isinstance(urgent, bool):
        raise ValidationError("urgent", "urgent 须为布尔值。")
    begin_write()
    now = now or utcnow()
    _open(question)
    escalation = escalate(question, actor=actor, reason=reason, urgent=urgent, kind="requested", now=now)
    _commit_or_conflict("该问题的承办情况已发生变化，请刷新后重试。")
    return escalation


# Reopening -----------------------------------------------------------------------------------


def _finished_at(question: Question) -> datetime | None:
    """When a closed question was closed, or a resolved one resolved (its last acceptance)."""
    if question.status == "closed":
        return question.closed_at
    return db.session.execute(
        db.select(func.max(AuditEvent.at)).where(AuditEvent.question_id == question.id,
                                                 AuditEvent.action == "answer.accepted")
    ).scalar_one()


def reopen_problem(user, question: Question, now: datetime | None = None) -> str | None:
    """Why `user` may not reopen `question`, or None when they may.

    Moderators and admins reopen any resolved or closed question; the asker their own resolved
    question, or one they withdrew, within QA_REOPEN_DAYS of its resolution or closing.
    """
    if question.status not in ("resolved", "closed"):
        return "只有已办结或已关闭的问题可以重新开启。"
    if can_moderate(user):
        return None
    if not can(user, Permission.ASK) or question.asker_id != user.id:
        return "只有提问人、质量评查员或管理员可以重新开启问题。"
    if question.status == "closed" and question.close_reason != "withdrawn":
        return f"该问题因“{question.close_reason_name}”关闭，请联系质量评查员或管理员重新开启。"
    days = current_app.config["QA_REOPEN_DAYS"]
    finished = _finished_at(question)
    if finished is None or (now or utcnow()) - finished > timedelta(days=days):
        return f"办结或撤回已超过 {days} 天，不能由提问人重新开启；请联系管理员，或重新提问。"
    return None


def can_reopen(user, question: Question) -> bool:
    return reopen_problem(user, question) is None


def reopen_question(actor: User, question: Question, reason, now: datetime | None = None) -> Assignment | None:
    """重新开启: a resolved or closed question is open again, under the same number, with a reason.

    The acceptance and the close reason are lifted (both stay in the audit log and on the trail);
    the question goes back to the expert who last handled it when they can still take it, else it
    is routed afresh (or waits in the admins' queue). Returns the new assignment, if any.
    """
    now = now or utcnow()
    problem = reopen_problem(actor, question, now)
    if problem is not None:
        if question.status not in ("resolved", "closed"):
            raise Conflict(problem)
        raise PermissionDenied(problem)
    reason = _reason(reason, "重新开启理由")
    begin_write()
    previous = {"previous_status": question.status, "close_reason": question.close_reason,
                "accepted_answer_id": question.accepted_answer_id,
                "duplicate_of": question.duplicate_of.number if question.duplicate_of is not None else None}
    won = db.session.execute(
        update(Question).where(Question.id == question.id, Question.status == question.status)
        .values(status="pending", updated_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise Conflict("该问题的状态已发生变化，请刷新后重试。")
    question.status, question.due_at, question.updated_at = "pending", None, now
    question.accepted_answer_id = question.duplicate_of_id = None
    question.close_reason = question.close_note = question.closed_at = question.closed_by_id = None
    last = max((a for a in question.assignments if a.is_lead), key=lambda a: a.id, default=None)
    expert = last.expert if last is not None else None
    fit = (expert is not None and expert.active and expert.has_role("expert") and expert.id != question.asker_id
           and unavailable_reason(expert, now) is None)
    record(actor, "question.reopened", question, reason=reason, **previous,
           expert=expert.username if fit else None, expert_name=expert.name if fit else None)
    if fit:
        new = assign(question, expert, by=actor, now=now, reason="reopen")
    else:
        new = route_question(question, by=actor, now=now)
    if question.asker_id != actor.id:
        notify(question.asker, "reopened", f"您的问题 {question.number} 已重新开启：{reason}", question)
    enqueue_index(question)
    _commit_or_conflict("该问题的状态已发生变化，请刷新后重试。")
    return new


def escalate(question: Question, *, actor, reason: str, urgent: bool, kind: str, now: datetime,
             from_assignment: Assignment | None = None, admins=org_admins) -> Escalation:
    """Move the question one level up inside the caller's transaction (the sweep uses it too,
    with `admins`, the admins of some procuratorates, memoised)."""
    from_org = handling_org(question)
    target = from_org.parent
    if target is None:
        raise Conflict("该问题已在最高人民检察院办理，没有更高一级可以提请。")
    lead = from_assignment or lead_of(question)
    if lead is not None and lead.active:
        _end_assignment(lead, now)
    orgs = [target] + (target.ancestors() if urgent else [])
    exclude = {question.asker_id} | ({lead.expert_id} if lead is not None else set())
    expert = find_expert(question.org, question.category, exclude, orgs=orgs, now=now,
                         tags=[t.name for t in question.tags])
    to_org = expert.org if expert is not None else target
    escalation = Escalation(question_id=question.id, from_assignment_id=lead.id if lead is not None else None,
                            from_org_id=from_org.id, to_org_id=to_org.id, kind=kind, urgent=urgent,
                            reason=reason, actor_id=actor.id if actor is not None else None, created_at=now)
    escalation.to_org = to_org
    db.session.add(escalation)
    detail = {"kind": kind, "urgent": urgent, "from_org": from_org.name, "to_org": to_org.name}
    if expert is not None:
        assign(question, expert, by=actor, now=now, action="question.escalated", reason=reason, **detail)
    else:
        record(actor, "question.escalated", escalation, question=question, reason=reason, expert=None, **detail)
        _leave_pending(question, now, f"已提请{target.name}办理，该院暂无可分派的答疑专家", target, admins)
    how = "（紧急）" if urgent else ""
    message = (f"问题 {question.number}《{question.title}》因{ESCALATION_KINDS.get(kind, kind)}{how}"
               f"已由{from_org.name}提请{to_org.name}办理：{reason}")
    notify(question.asker, "escalated", message, question)
    if lead is not None and (actor is None or lead.expert_id != actor.id):
        notify(lead.expert, "escalated", message, question)
    for admin in admins({from_org.id, to_org.id}):
        notify(admin, "escalated", message, question)
    enqueue_index(question)
    return escalation


def _commit_or_conflict(message: str) -> None:
    """Commit; a unique-index clash (two handlers at once) becomes Conflict with nothing changed."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message) from None


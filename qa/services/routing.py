"""Routing: which expert answers a question, and by when."""
from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Date, Float, and_, bindparam, case, cast, exists, func, or_

from qa.extensions import db
from qa.models import (
    DEFAULT_CAPACITY,
    OPEN_STATUSES,
    Assignment,
    Category,
    ExpertProfile,
    ExpertSpeciality,
    ExpertTag,
    Procuratorate,
    Question,
    User,
    UserRole,
)
from qa.services.audit import notify, record
from qa.timeutil import china_today, end_of_china_day, format_china


def pool_orgs(origin: Procuratorate) -> list[Procuratorate]:
    """The procuratorates whose experts may take a question from `origin`, nearest first.

    One level up, then further up; a question from the root (the SPP) goes to its own experts.
    """
    ancestors = origin.ancestors()
    return ancestors if ancestors else [origin]


def open_load():
    """Per expert: the number of open questions they are currently responsible for."""
    return (
        db.select(Assignment.expert_id, func.count(Assignment.id).label("load"))
        .join(Question, Question.id == Assignment.question_id)
        .where(Assignment.active.is_(True), Question.status.in_(OPEN_STATUSES))
        .group_by(Assignment.expert_id)
        .subquery()
    )


def expert_load(expert_id_column=None):
    """Per expert (correlated to `expert_id_column`, default User.id): open questions they hold."""
    column = User.id if expert_id_column is None else expert_id_column
    return (
        db.select(func.count(Assignment.id))
        .join(Question, Question.id == Assignment.question_id)
        .where(Assignment.expert_id == column, Assignment.active.is_(True), Question.status.in_(OPEN_STATUSES))
        .scalar_subquery()
    )


def expert_available(today: date):
    """SQL condition on an outer-joined ExpertProfile: in term and not on leave on `today`."""
    return and_(
        or_(ExpertProfile.term_start.is_(None), ExpertProfile.term_start <= today),
        or_(ExpertProfile.term_end.is_(None), ExpertProfile.term_end >= today),
        or_(ExpertProfile.leave_until.is_(None), ExpertProfile.leave_until < today),
    )


def expert_capacity():
    return func.coalesce(ExpertProfile.capacity, DEFAULT_CAPACITY)


def covering_codes(category: Category) -> list[str]:
    """The specialities that cover a question in `category`: its own line and its parent line."""
    return [category.code] + ([category.parent_code] if category.parent_code else [])


@functools.cache
def _candidate_query(with_tags: bool):
    """The per-level routing query, built once with bound parameters (building it costs more than running it)."""
    load = expert_load()
    capacity = expert_capacity()
    order = [cast(load, Float) / capacity]
    if with_tags:
        order.append(case((exists().where(ExpertTag.user_id == User.id,
                                          ExpertTag.name.in_(bindparam("tags", expanding=True))), 0), else_=1))
    return (
        db.select(User)
        .join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == "expert"))
        .outerjoin(ExpertProfile, ExpertProfile.user_id == User.id)
        .where(
            User.org_id == bindparam("org_id"),
            User.active.is_(True),
            exists().where(ExpertSpeciality.user_id == User.id,
                           ExpertSpeciality.category_code.in_(bindparam("covering", expanding=True))),
            expert_available(bindparam("today", type_=Date())),
            load < capacity,
            User.id.not_in(bindparam("exclude", expanding=True)),
        )
        .order_by(*order, User.id)
        .limit(1)
    )


def find_expert(origin: Procuratorate, category: Category, exclude_ids=(), *, orgs=None,
                now: datetime | None = None, tags=()) -> User | None:
    """The expert a question from `origin` in `category` goes to, or None.

    Candidates are active experts whose specialities cover the category, in term and not on leave,
    holding fewer open questions than their capacity, in the pool above `origin` (or in `orgs`,
    nearest first). The nearest procuratorate with a candidate wins; within it the least load
    relative to capacity, then an expert whose tags match the question's, then the lowest id.
    One query per level, stopping at the first level with a candidate, so routing stays fast with
    thousands of experts (loads are counted only for the candidates of that level).
    """
    pools = list(orgs) if orgs is not None else pool_orgs(origin)
    params = {"covering": covering_codes(category),
              "today": china_today(now), "exclude": list(exclude_ids)}
    if tags:
        params["tags"] = list(tags)
    stmt = _candidate_query(bool(tags))
    for org in pools:
        expert = db.session.execute(stmt, {**params, "org_id": org.id}).scalars().first()
        if expert is not None:
            return expert
    return None


def compute_due(now: datetime, case_deadline: date | None) -> datetime:
    """Due date: QA_ANSWER_DAYS after assignment, earlier when a case deadline needs it.

    The answer should arrive QA_CASE_DEADLINE_MARGIN_DAYS before the case deadline; when that is
    no longer possible, it is due by the end of the case deadline's day.
    """
    cfg = current_app.config
    due = now + timedelta(days=cfg["QA_ANSWER_DAYS"])
    if case_deadline is not None:
        deadline_end = end_of_china_day(case_deadline)
        target = deadline_end - timedelta(days=cfg["QA_CASE_DEADLINE_MARGIN_DAYS"])
        if target <= now:
            target = deadline_end
        due = min(due, target)
    return due


def assign(question: Question, expert: User, *, by, now: datetime, reason: str = "auto",
           due: datetime | None = None, action: str = "question.assigned", **detail) -> Assignment:
    """Make `expert` responsible for `question` (ending any current lead assignment, and the new
    lead's own consultation if they were consulting on it: one person, one role on a question).

    The due date is computed afresh unless `due` is given (a transfer keeps it); the audit event
    is `action` (claim, transfer, escalation ... are assignments too) with `detail` added.
    """
    for current in question.assignments:
        if current.active and (current.is_lead or current.expert_id == expert.id):
            current.active = False
            current.ended_at = now
    due = due or compute_due(now, question.case_deadline)
    assignment = Assignment(question=question, expert_id=expert.id, org_id=expert.org_id,
                            assigned_by_id=by.id if by is not None else None,
                            assigned_at=now, due_at=due)
    db.session.add(assignment)
    question.due_at = due
    if question.status == "pending":
        question.status = "assigned"
    question.updated_at = now
    record(by, action, assignment, question=question, expert=expert.username,
           expert_name=expert.name, expert_org=expert.org.name, due_at=due.isoformat(), reason=reason, **detail)
    notify(expert, "assigned",
           f"新分派问题 {question.number}《{question.title}》，请于 {format_china(due)} 前答复。", question)
    return assignment


def route_question(question: Question, *, by, now: datetime) -> Assignment | None:
    """Assign a new question automatically, or leave it in the admins' unassigned queue."""
    expert = find_expert(question.org, question.category, exclude_ids=[question.asker_id], now=now,
                         tags=[tag.name for tag in question.tags])
    if expert is not None:
        return assign(question, expert, by=None, now=now)
    record(None, "question.unrouted", question, reason="没有覆盖该业务条线的在岗答疑专家")
    for admin in queue_admins(question.org):
        notify(admin, "unassigned", f"问题 {question.number}《{question.title}》无可分派的答疑专家，请人工分派。",
               question)
    return None


def queue_admins(origin: Procuratorate) -> list[User]:
    """Admins who see a procuratorate's unassigned questions: its own and those above it."""
    org_ids = [origin.id] + [o.id for o in origin.ancestors()]
    stmt = (
        db.select(User)
        .join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == "admin"))
        .where(User.active.is_(True), or_(User.org_id.in_(org_ids)))
        .order_by(User.id)
    )
    return list(db.session.execute(stmt).scalars())

"""The deadline sweep: reminders before the due date, overdue questions marked and escalated a level up.

Run from cron every few minutes (`flask --app wsgi deadlines sweep`). Every effect is recorded in
DeadlineReminder under a unique (assignment, kind) key, in the same transaction as the
notifications and audit events it causes, so a second run, an overlapping run or a re-run after a
kill never repeats anything, and a run after a long pause catches up: stale reminders whose moment
has passed are skipped, and each overdue assignment is escalated exactly once, one level up.
Questions nobody could take (pending, in the admins' unassigned queue) are watched too: the
admins of the asker's procuratorate and above are reminded as the date promised at asking nears
and when it passes, once per question and kind (PendingReminder).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, exists, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from qa.errors import Conflict
from qa.extensions import begin_write, db
from qa.models import (
    Assignment,
    AuditEvent,
    DeadlineReminder,
    Escalation,
    Notification,
    Procuratorate,
    Question,
    User,
    UTCDateTime,
)
from qa.models.experts import PendingReminder
from qa.services import mail
from qa.services.audit import notify, record
from qa.services.handling import escalate, org_admins
from qa.services.routing import compute_due, queue_admins
from qa.timeutil import china_today, format_china, utcnow

OVERDUE = "overdue"


@dataclass
class SweepReport:
    reminders: int = 0
    overdue: int = 0
    escalated: int = 0
    left_unassigned: int = 0  # escalated to a level where nobody could take it: admins' queue
    at_top: int = 0  # overdue at the SPP: nothing above, its admins are told
    skipped: int = 0  # changed by someone else while the sweep ran
    pending_reminded: int = 0  # admins reminded of unassigned questions nearing or past their date
    by_kind: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"到期提醒 {self.reminders} 条，新超期 {self.overdue} 件，提请上级 {self.escalated} 件"
                f"（其中上级暂无专家转人工分派 {self.left_unassigned} 件），最高检超期 {self.at_top} 件，"
                f"待分派问题催办 {self.pending_reminded} 件。")


def reminder_offsets() -> list[tuple[str, timedelta]]:
    """(kind, time before due) from QA_REMINDER_DAYS ("3,1"), nearest first."""
    raw = current_app.config["QA_REMINDER_DAYS"]
    values = raw.split(",") if isinstance(raw, str) else list(raw)
    days = sorted({float(v) for v in values if str(v).strip()})
    return [(f"before:{d:g}d", timedelta(days=d)) for d in days if d > 0]


def _insert():
    return pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _lead_join():
    return and_(Assignment.question_id == Question.id, Assignment.active.is_(True), Assignment.is_lead.is_(True))


def _still_open_lead(*question_conditions):
    """Conditions on Assignment rows looked up by id: still the active lead of a question still assigned.

    The question is checked in a correlated EXISTS, so the database starts from the assignments'
    primary keys (a join lets SQLite start from every assigned question instead).
    """
    return (Assignment.active.is_(True), Assignment.is_lead.is_(True),
            exists().where(Question.id == Assignment.question_id, Question.status == "assigned",
                           *question_conditions))


def _chunks(rows, size):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def sweep(now: datetime | None = None, batch_size: int = 2000, escalation_batch_size: int = 100) -> SweepReport:
    """Send due reminders and handle overdue questions as of `now` (default: the current time)."""
    now = now or utcnow()
    report = SweepReport()
    send_reminders(now, report, batch_size)
    handle_overdue(now, report, escalation_batch_size)
    remind_pending(now, report)
    return report


# Reminders ---------------------------------------------------------------------------------


def send_reminders(now: datetime, report: SweepReport, batch_size: int = 2000) -> None:
    """One reminder per assignment and window: the nearest window the due date is in right now.

    A question due within 1 day gets the 1-day reminder even if the sweep missed the 3-day one.
    """
    lower = now
    for kind, before in reminder_offsets():
        upper = now + before
        rows = db.session.execute(
            select(Assignment.id, Question.id, Question.number, Question.title, Question.due_at,
                   Assignment.expert_id)
            .join(Assignment, _lead_join())
            .where(Question.status == "assigned", Question.due_at > lower, Question.due_at <= upper,
                   ~exists().where(DeadlineReminder.assignment_id == Assignment.id, DeadlineReminder.kind == kind))
            .order_by(Question.due_at, Question.id)
        ).all()
        db.session.rollback()  # end the read; each chunk is its own write transaction
        for chunk in _chunks(rows, batch_size):
            sent = _remind_chunk(kind, before, chunk, now)
            report.reminders += sent
            report.by_kind[kind] = report.by_kind.get(kind, 0) + sent
        lower = upper


def _mark(kind: str, assignment_ids, now: datetime, *question_conditions) -> list[tuple[int, int]]:
    """Record (assignment, kind) for those of `assignment_ids` still the open lead, in one statement.

    Re-checked inside the write: an assignment may have ended since it was read. Returns
    (reminder id, assignment id) for the rows created; one already there (an earlier or
    overlapping run) is not created again.
    """
    return db.session.execute(
        _insert()(DeadlineReminder)
        .from_select(
            ["assignment_id", "question_id", "kind", "created_at"],
            select(Assignment.id, Assignment.question_id, literal(kind), literal(now, UTCDateTime()))
            .where(Assignment.id.in_(list(assignment_ids)), *_still_open_lead(*question_conditions)),
        )
        .on_conflict_do_nothing(index_elements=["assignment_id", "kind"])
        .returning(DeadlineReminder.id, DeadlineReminder.assignment_id)
    ).all()


def _remind_chunk(kind: str, before: timedelta, chunk, now: datetime) -> int:
    """Record, notify and audit the reminders of one chunk in one transaction; returns how many."""
    begin_write()
    by_assignment = {row[0]: row for row in chunk}
    created = _mark(kind, by_assignment, now)
    if not created:
        db.session.rollback()
        return 0
    days = f"{before.total_seconds() / 86400:g}"
    notes, events = [], []
    for reminder_id, assignment_id in created:
        _aid, question_id, number, title, due_at, expert_id = by_assignment[assignment_id]
        notes.append({"user_id": expert_id, "kind": "reminder", "question_id": question_id, "created_at": now,
                      "message": f"提醒：问题 {number}《{title}》将于 {format_china(due_at)} 到期"
                                 f"（不足 {days} 天），请及时答复。"})
        events.append({"at": now, "actor_id": None, "actor_roles": "system", "actor_org_id": None,
                       "action": "question.reminded", "object_type": "deadlinereminder",
                       "object_id": str(reminder_id), "question_id": question_id, "question_number": number,
                       "detail": {"kind": kind, "days": days, "expert_id": expert_id,
                                  "due_at": due_at.isoformat()},
                       "ip": None})
    note_ids = db.session.execute(
        insert(Notification).returning(Notification.id, sort_by_parameter_order=True), notes
    ).scalars().all()
    db.session.execute(insert(AuditEvent), events)
    mail.queue_for_notifications(note_ids, now)
    db.session.commit()
    return len(created)


# Overdue -----------------------------------------------------------------------------------


def is_urgent(question: Question, now: datetime, escalated_urgently: bool | None = None) -> bool:
    """Urgent: the case deadline is near, or the question was escalated as urgent before.

    `escalated_urgently` is that second fact when the caller has already looked it up (in bulk).
    """
    near = current_app.config["QA_CASE_DEADLINE_NEAR_DAYS"]
    if question.case_deadline is not None and question.case_deadline <= china_today(now) + timedelta(days=near):
        return True
    if escalated_urgently is not None:
        return escalated_urgently
    return db.session.execute(
        select(Escalation.id).filter_by(question_id=question.id, urgent=True).limit(1)
    ).first() is not None


class _Chunk:
    """What handling one chunk of overdue assignments needs, loaded in a few queries instead of
    dozens per question: the procuratorate tree (so parents and ancestors need no query), the
    assignments with their questions, experts, askers, tags and other assignments, which of the
    questions were escalated as urgent before, and the admins of each procuratorate (memoised)."""

    def __init__(self, assignment_ids):
        self.orgs = db.session.execute(select(Procuratorate)).scalars().all()  # kept: the identity map is weak
        self.assignments = db.session.execute(
            select(Assignment).where(Assignment.id.in_(list(assignment_ids))).order_by(Assignment.due_at, Assignment.id)
            .options(joinedload(Assignment.expert),
                     joinedload(Assignment.question).options(
                         joinedload(Question.asker), joinedload(Question.category),
                         selectinload(Question.tags), selectinload(Question.assignments)))
        ).unique().scalars().all()
        question_ids = [a.question_id for a in self.assignments]
        self.urgent = set(db.session.execute(
            select(Escalation.question_id).where(Escalation.question_id.in_(question_ids), Escalation.urgent.is_(True))
        ).scalars())
        self._admins: dict[frozenset, list[User]] = {}

    def admins(self, org_ids) -> list[User]:
        key = frozenset(org_ids)
        if key not in self._admins:
            self._admins[key] = org_admins(key)
        return self._admins[key]


def handle_overdue(now: datetime, report: SweepReport, batch_size: int = 100) -> None:
    """Mark each newly overdue assignment once and escalate its question one level up.

    Per chunk, one transaction: the overdue marks are inserted in one statement, then each marked
    question is escalated in a savepoint with everything it needs preloaded. A question someone
    changed meanwhile (Conflict) loses its mark again, so a later run handles it.
    """
    rows = db.session.execute(
        select(Assignment.id).select_from(Question)
        .join(Assignment, _lead_join())
        .where(Question.status == "assigned", Question.due_at <= now,
               ~exists().where(DeadlineReminder.assignment_id == Assignment.id, DeadlineReminder.kind == OVERDUE))
        .order_by(Question.due_at, Question.id)
    ).scalars().all()
    db.session.rollback()
    for chunk in _chunks(rows, batch_size):
        begin_write()
        marks = {assignment_id: reminder_id
                 for reminder_id, assignment_id in _mark(OVERDUE, chunk, now, Question.due_at <= now)}
        report.skipped += len(chunk) - len(marks)
        loaded = _Chunk(marks) if marks else None
        for assignment in loaded.assignments if loaded else ():
            try:
                with db.session.begin_nested():
                    _overdue_one(assignment, loaded, now, report)
            except Conflict:
                db.session.execute(delete(DeadlineReminder).where(DeadlineReminder.id == marks[assignment.id]))
                report.skipped += 1
        db.session.commit()


def _overdue_one(assignment: Assignment, loaded: _Chunk, now: datetime, report: SweepReport) -> None:
    question, expert = assignment.question, assignment.expert
    record(None, "question.overdue", question, expert=expert.username, expert_name=expert.name,
           expert_org=assignment.org.name, due_at=assignment.due_at.isoformat())
    notify(expert, "overdue", f"问题 {question.number}《{question.title}》已超过答复期限"
                              f"（{format_china(assignment.due_at)}）。", question)
    if assignment.org.parent_id is None or not current_app.config["QA_ESCALATE_OVERDUE"]:
        for admin in loaded.admins([assignment.org_id]):
            notify(admin, "overdue", f"问题 {question.number}《{question.title}》在{assignment.org.name}"
                                     f"已超期未答复，请督办。", question)
        report.overdue += 1
        report.at_top += assignment.org.parent_id is None
        return
    escalate(question, actor=None, reason="超过答复期限未答复，依规提请上一级院办理",
             urgent=is_urgent(question, now, question.id in loaded.urgent), kind="overdue", now=now,
             from_assignment=assignment, admins=loaded.admins)
    report.overdue += 1
    report.escalated += 1
    report.left_unassigned += question.status == "pending"


# Pending questions (the admins' unassigned queue) ----------------------------------------------


def pending_kind(due: datetime, now: datetime) -> tuple[str, str] | None:
    """(kind, wording) of the reminder a pending question due at `due` gets now: overdue, or the
    nearest reminder window it is in (a missed 3-day reminder gives way to the 1-day one); else None."""
    if due <= now:
        return OVERDUE, "已超过答复期限"
    for kind, before in reminder_offsets():
        if due - now <= before:
            return kind, f"距答复期限不足 {before.total_seconds() / 86400:g} 天"
    return None


def remind_pending(now: datetime, report: SweepReport) -> None:
    """Tell the admins of the origin and above about unassigned questions nearing or past their date:
    the date promised when the question was asked, as routing computes it (QA_ANSWER_DAYS,
    earlier for a near case deadline).

    Once per question and kind (a PendingReminder row, unique, written in the same transaction
    as the notifications and the audit event), so re-runs and overlapping runs repeat nothing.
    """
    due_by_id = {}
    for question_id, created_at, case_deadline in db.session.execute(
        select(Question.id, Question.created_at, Question.case_deadline)
        .where(Question.status == "pending").order_by(Question.created_at, Question.id)
    ).all():
        due = compute_due(created_at, case_deadline)
        found = pending_kind(due, now)
        if found is not None:
            due_by_id[question_id] = (found, due)
    done = set(db.session.execute(
        select(PendingReminder.question_id, PendingReminder.kind).where(PendingReminder.question_id.in_(list(due_by_id)))
    ).all()) if due_by_id else set()
    todo = [(qid, kind_text, due) for qid, (kind_text, due) in due_by_id.items() if (qid, kind_text[0]) not in done]
    db.session.rollback()
    for question_id, (kind, wording), due in todo:
        begin_write()
        marked = db.session.execute(
            _insert()(PendingReminder)
            .from_select(["question_id", "kind", "created_at"],
                         select(Question.id, literal(kind), literal(now, UTCDateTime()))
                         .where(Question.id == question_id, Question.status == "pending"))
            .on_conflict_do_nothing(index_elements=["question_id", "kind"])
            .returning(PendingReminder.id)
        ).first()
        if marked is None:
            db.session.rollback()
            continue
        question = db.session.get(Question, question_id)
        admins = queue_admins(question.org)
        record(None, "question.pending_reminded", question, kind=kind, due_at=due.isoformat(),
               admins=[a.username for a in admins])
        for admin in admins:
            notify(admin, "unassigned", f"待分派问题 {question.number}《{question.title}》{wording}"
                                        f"（{format_china(due)}），仍无承办专家，请尽快人工分派。", question)
        db.session.commit()
        report.pending_reminded += 1

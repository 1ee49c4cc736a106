"""Statistics for administrators: quantity beside timeliness and quality, by scope and period."""
from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Float, and_, case, distinct, func, literal_column, or_, select, text, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.orm import join as orm_join
from sqlalchemy.sql.expression import FunctionElement

from qa.errors import NotFound, ValidationError
from qa.extensions import db
from qa.models import (
    OPEN_STATUSES,
    Answer,
    Assignment,
    AuditEvent,
    CanonicalAnswer,
    Category,
    ExpertProfile,
    Procuratorate,
    Question,
    Rating,
    User,
    UserRole,
)
from qa.permissions import Permission, can, can_view_stats, require
from qa.services.routing import expert_capacity
from qa.timeutil import china_midnight, china_today, utcnow

ESCALATION_ACTIONS = ("question.escalated",)  # audit actions of issue 4's handling and deadline sweep
LOGIN_ACTION = "user.login"
PERIOD_KINDS = {"month": "本月", "quarter": "本季度", "year": "本年", "custom": "自定义"}
TREND_UNITS = {"week": "按周", "month": "按月"}
MAX_PERIOD_DAYS = 3 * 366 + 1
MAX_WEEK_BUCKETS = 60  # longer periods are shown by month
EXPERTS_SHOWN = 100  # rows on the page; the CSV export has every expert
CACHE_SECONDS = 300


# SQL helpers ---------------------------------------------------------------------------------


class hours_between(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """hours_between(end, start): hours from `start` to `end` as a float (SQLite and PostgreSQL)."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_between_postgresql(element, compiler, **kw):
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0 AS DOUBLE PRECISION)"


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw):
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


def _tune_for_analytics() -> None:
    """PostgreSQL, for the rest of this read transaction only: no JIT (compiling these one-off plans
    took longer than running them) and enough sort memory for a year of answer times."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _percentile_select(base):
    """SELECT k, p50, p90 over `base`: a Select of one group-key column k and the value column v.

    Linear interpolation between the closest ranks (as PostgreSQL's percentile_cont): with n values
    v0 <= ... <= v(n-1) in a group, p% is v(j) + f * (v(j+1) - v(j)) where j + f = p/100 * (n-1).
    j and f come from integer arithmetic and the rank from ROW_NUMBER, so SQLite and PostgreSQL agree.
    Keep k an integer: the window sorts by it.
    """
    base = base.subquery("pct_base")
    ranked = select(base.c.k, base.c.v,
                    (func.row_number().over(partition_by=base.c.k, order_by=base.c.v) - 1).label("i"),
                    func.count().over(partition_by=base.c.k).label("n")).subquery("ranked")

    def pick(p: int):
        lower = (ranked.c.n - 1) * p // 100
        low = func.max(case((ranked.c.i == lower, ranked.c.v)))
        high = func.max(case((ranked.c.i == lower + 1, ranked.c.v)))
        fraction = ((func.max(ranked.c.n) - 1) * p) % 100 / 100.0
        return low + fraction * (func.coalesce(high, low) - low)

    return select(ranked.c.k, pick(50).label("p50"), pick(90).label("p90")).group_by(ranked.c.k)


def _percentiles(base) -> dict:
    """{k: (median, p90)} over `base` (see _percentile_select)."""
    return {k: (p50, p90) for k, p50, p90 in db.session.execute(_percentile_select(base))}


LINE = func.coalesce(Category.parent_code, Category.code)  # sub-lines count under their business line


# Periods and scopes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole China-time days from `start` to `end` inclusive."""

    kind: str
    start: date
    end: date

    @property
    def start_utc(self) -> datetime:
        return china_midnight(self.start)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: midnight China time after the last day."""
        return china_midnight(self.end + timedelta(days=1))

    @property
    def label(self) -> str:
        s, e = self.start, self.end
        if self.kind == "month":
            return f"{s.year}年{s.month}月（{s.month}月1日至{e.month}月{e.day}日）"
        if self.kind == "quarter":
            return f"{s.year}年第{(s.month - 1) // 3 + 1}季度（{s:%m-%d} 至 {e:%m-%d}）"
        if self.kind == "year":
            return f"{s.year}年（1月1日至{e.month}月{e.day}日）"
        return f"{s.isoformat()} 至 {e.isoformat()}"

    def default_unit(self) -> str:
        return "week" if (self.end - self.start).days <= 92 else "month"


def _parse_date(value, field: str, label: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"{label}须为 YYYY-MM-DD 格式的日期。") from None


def make_period(kind: str | None = "month", start=None, end=None, today: date | None = None) -> Period:
    """This month / quarter / year up to today (China time), or a custom range of whole days.

    Raises ValidationError for an unknown kind, a malformed or reversed range, or one longer
    than about three years.
    """
    today = today or china_today()
    kind = kind or "month"
    if kind == "month":
        return Period(kind, today.replace(day=1), today)
    if kind == "quarter":
        return Period(kind, date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today)
    if kind == "year":
        return Period(kind, date(today.year, 1, 1), today)
    if kind != "custom":
        raise ValidationError("period", "统计期间须为本月、本季度、本年或自定义。")
    start = _parse_date(start, "from", "开始日期")
    end = _parse_date(end, "to", "结束日期")
    if start is None or end is None:
        raise ValidationError("from" if start is None else "to", "自定义期间须填写开始日期和结束日期。")
    if start > end:
        raise ValidationError("to", "结束日期不能早于开始日期。")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationError("to", "统计期间最长三年。")
    return Period(kind, start, end)


def trend_buckets(period: Period, unit: str) -> list[tuple[str, date, date]]:
    """(label, first day, last day) per week (Monday to Sunday) or calendar month, clipped to the period."""
    buckets, day = [], period.start
    many_years = period.start.year != period.end.year
    while day <= period.end:
        if unit == "week":
            last = min(day + timedelta(days=6 - day.weekday()), period.end)
            fmt = "%Y-%m-%d" if many_years else "%m-%d"
            label = f"{day.strftime(fmt)}～{last.strftime(fmt)}"
        else:
            next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            last = min(next_month - timedelta(days=1), period.end)
            label = f"{day.year}-{day.month:02d}"
        buckets.append((label, day, last))
        day = last + timedelta(days=1)
    return buckets


def trend_unit(period: Period, unit: str | None) -> str:
    """The requested unit when sensible: weeks only while there are at most MAX_WEEK_BUCKETS of them."""
    unit = unit if unit in TREND_UNITS else period.default_unit()
    if unit == "week" and (period.end - period.start).days > 7 * MAX_WEEK_BUCKETS:
        unit = "month"
    return unit


def resolve_scope(user, code: str | None = None) -> Procuratorate:
    """The procuratorate whose subtree the statistics cover: `code`, or the user's own.

    Raises PermissionDenied for non-admins (before looking anything up) and for a procuratorate
    outside the user's subtree; NotFound for an unknown code.
    """
    require(can(user, Permission.ADMINISTER), "只有管理员可以查看统计。")
    code = (code or "").strip()
    if not code:
        return user.org
    org = db.session.execute(db.select(Procuratorate).filter_by(code=code[:12])).scalar_one_or_none()
    if org is None:
        raise NotFound(f"没有代码为 {code[:12]} 的检察院。")
    require(can_view_stats(user, org), "您只能查看本院及下级院的统计。")
    return org


def _scope_tree(org: Procuratorate):
    """CTE (org_id, bucket): every procuratorate in the subtree of `org`, with the child of `org`
    it lies under (its bucket in the by-procuratorate table); `org` itself is its own bucket."""
    seed = select(Procuratorate.id.label("org_id"), Procuratorate.id.label("bucket")).where(
        or_(Procuratorate.id == org.id, Procuratorate.parent_id == org.id))
    tree = seed.cte("scope_tree", recursive=True)
    below = aliased(Procuratorate)
    return tree.union_all(
        select(below.id, tree.c.bucket).where(below.parent_id == tree.c.org_id, tree.c.bucket != org.id))


def _in_period(column, period: Period):
    return and_(column >= period.start_utc, column < period.end_utc)


# Rating rows are the current ratings: a revision updates the row in place (scores, not created_at)
# and keeps the earlier version in RatingRevision (issue 5), so every row counts once.
RATING_POINTS = Rating.accuracy + Rating.basis + Rating.relevance + Rating.clarity


# The headline figures, by business line and by procuratorate ------------------------------------


def _cell_queries(tree, period: Period, now: datetime) -> list:
    """(statement, names): statements yielding (bucket, line, *counts) rows, and the names of the counts."""
    q = Question
    answered = q.answered_at.is_not(None)

    def grouped(source, *columns):
        """Grouped by procuratorate bucket and business line; `source` must reach the question."""
        return (select(tree.c.bucket, LINE.label("line"), *columns).select_from(source)
                .join(tree, tree.c.org_id == q.org_id).join(Category, Category.code == q.category_code)
                .group_by(tree.c.bucket, LINE))

    cohort = grouped(
        q,
        func.count(q.id),
        _count_if(answered),
        _count_if(and_(q.status == "closed", q.answered_at.is_(None))),
        _count_if(and_(answered, q.due_at.is_not(None), q.answered_at <= q.due_at)),
        _count_if(and_(q.due_at.is_not(None),
                       or_(answered, and_(q.due_at < now, q.status != "closed")))),
        _count_if(q.accepted_answer_id.is_not(None)),
    ).where(_in_period(q.created_at, period))
    overdue = grouped(q, func.count(q.id)).where(q.status.in_(OPEN_STATUSES), q.due_at < now)
    escalated = (grouped(orm_join(AuditEvent, q, q.id == AuditEvent.question_id), func.count(AuditEvent.id))
                 .where(AuditEvent.action.in_(ESCALATION_ACTIONS), _in_period(AuditEvent.at, period)))
    ratings = (grouped(orm_join(Rating, Answer, Answer.id == Rating.answer_id).join(q, q.id == Answer.question_id),
                       func.sum(RATING_POINTS), func.count(Rating.id))
               .where(_in_period(Rating.created_at, period)))
    canonical = (grouped(orm_join(CanonicalAnswer, q, q.id == CanonicalAnswer.question_id),
                         func.count(CanonicalAnswer.id))
                 .where(_in_period(CanonicalAnswer.created_at, period), CanonicalAnswer.status != "withdrawn"))
    return [
        (cohort, ("asked", "answered", "closed_unanswered", "on_time", "due_decided", "accepted")),
        (overdue, ("overdue",)),
        (escalated, ("escalated",)),
        (ratings, ("rating_points", "rating_count")),
        (canonical, ("canonical",)),
    ]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(value) -> float | None:
    return round(float(value), 1) if value is not None else None


def _derive(c: Counter, pct: tuple | None) -> dict:
    """The published figures from the raw counts of one group (see README "Statistics")."""
    answerable = c["asked"] - c["closed_unanswered"]
    p50, p90 = pct or (None, None)
    return {
        "asked": c["asked"],
        "answered": c["answered"],
        "closed": c["closed_unanswered"],
        "answer_rate": _ratio(c["answered"], answerable),
        "on_time": c["on_time"],
        "on_time_rate": _ratio(c["on_time"], c["due_decided"]),
        "median_hours_to_first_answer": _hours(p50),
        "p90_hours_to_first_answer": _hours(p90),
        "overdue": c["overdue"],
        "escalated": c["escalated"],
        "accepted": c["accepted"],
        "accepted_rate": _ratio(c["accepted"], c["answered"]),
        "rating": {"average": round(c["rating_points"] / (4 * c["rating_count"]), 2) if c["rating_count"] else None,
                   "count": c["rating_count"]},
        "canonical": c["canonical"],
    }


def _answer_percentiles(tree, period: Period, lines: list[str], buckets=None) -> dict:
    """{(group, key): (median, p90)} of the hours from asking to the first answer, over the answered
    questions of the cohort: group "total" (key ""), "org" (bucket id), "line" (code) and, given trend
    buckets, "slot" (bucket index). One statement reads the cohort once (a CTE used several times);
    the groups are told apart by one integer key: 0 total, ids > 0, lines -1..-999, slots -1000 down."""
    q = Question
    line_key = case({code: -1 - i for i, code in enumerate(lines)}, value=LINE, else_=-999)
    columns = [tree.c.bucket, line_key.label("line"), hours_between(q.answered_at, q.created_at).label("v")]
    if buckets:
        columns.append((-1000 - _slot(q.created_at, buckets)).label("slot"))
    hours = (select(*columns).select_from(q).join(tree, tree.c.org_id == q.org_id)
             .join(Category, Category.code == q.category_code)
             .where(_in_period(q.created_at, period), q.answered_at.is_not(None))
             .cte("answer_hours").prefix_with("MATERIALIZED"))
    keys = [literal_column("0"), hours.c.bucket, hours.c.line] + ([hours.c.slot] if buckets else [])
    base = union_all(*[select(key.label("k"), hours.c.v) for key in keys]).subquery("hours_by_group")
    result = {}
    for k, pct in _percentiles(select(base.c.k, base.c.v)).items():
        if k == 0:
            result[("total", "")] = pct
        elif k > 0:
            result[("org", k)] = pct
        elif k > -999:
            result[("line", lines[-1 - k])] = pct
        elif k <= -1000:
            result[("slot", -1000 - k)] = pct
    return result


def _scope_json(org: Procuratorate) -> dict:
    return {"code": org.code, "name": org.name, "level": org.level, "level_name": org.level_name}


def _period_json(period: Period) -> dict:
    return {"kind": period.kind, "from": period.start.isoformat(), "to": period.end.isoformat(),
            "label": period.label}


def _children(org: Procuratorate) -> list[Procuratorate]:
    """The scope itself (its own questions) first, then its children by code."""
    return list(db.session.execute(
        db.select(Procuratorate).where(or_(Procuratorate.id == org.id, Procuratorate.parent_id == org.id))
        .order_by(Procuratorate.id != org.id, Procuratorate.code)).scalars())


def _lines() -> list[Category]:
    return list(db.session.execute(
        db.select(Category).where(Category.parent_code.is_(None)).order_by(Category.position, Category.code)
    ).scalars())


def compute_figures(org: Procuratorate, period: Period, now: datetime) -> dict:
    """Headline figures with the by-business-line and by-procuratorate breakdowns (no permission check)."""
    return _compute_figures(org, period, now)[0]


def _compute_figures(org: Procuratorate, period: Period, now: datetime, buckets=None) -> tuple[dict, dict]:
    """The figures, and the answer-time percentiles (including the trend slots' when given buckets)."""
    _tune_for_analytics()
    tree = _scope_tree(org)
    cells: dict[tuple, Counter] = defaultdict(Counter)
    for stmt, names in _cell_queries(tree, period, now):
        for bucket, line, *values in db.session.execute(stmt):
            cells[(bucket, line)].update({n: int(v or 0) for n, v in zip(names, values, strict=True)})
    # Roll the (procuratorate, line) groups up: sums of a few hundred aggregates, not rows.
    total, by_org, by_line = Counter(), defaultdict(Counter), defaultdict(Counter)
    for (bucket, line), counts in cells.items():
        total.update(counts)
        by_org[bucket].update(counts)
        by_line[line].update(counts)
    lines = _lines()
    pct = _answer_percentiles(tree, period, [c.code for c in lines], buckets)
    figures = {"scope": _scope_json(org), "period": _period_json(period), "as_of": now, **_derive(total, pct.get(("total", "")))}
    figures["by_category"] = [
        {"code": c.code, "name": c.name, **_derive(by_line[c.code], pct.get(("line", c.code)))} for c in lines]
    figures["by_org"] = [
        {**_scope_json(o), "own": o.id == org.id, **_derive(by_org[o.id], pct.get(("org", o.id)))}
        for o in _children(org)]
    return figures, pct


# Trends ------------------------------------------------------------------------------------------


def _slot(column, buckets: list[tuple[str, date, date]]):
    """The index of the trend bucket a timestamp falls in (rows are already limited to the period)."""
    return case(*[(column < china_midnight(last + timedelta(days=1)), i) for i, (_l, _f, last) in enumerate(buckets)],
                else_=None)


def compute_trend(org: Procuratorate, period: Period, unit: str, now: datetime, pct: dict | None = None) -> dict:
    """Per week or month of the period: the cohort asked in it, and the ratings and escalations in it."""
    _tune_for_analytics()
    tree = _scope_tree(org)
    buckets = trend_buckets(period, unit)
    q = Question
    asked = (select(_slot(q.created_at, buckets).label("t"), q.id, q.answered_at, q.due_at, q.status)
             .select_from(q).join(tree, tree.c.org_id == q.org_id)
             .where(_in_period(q.created_at, period)).subquery("asked"))
    answered = asked.c.answered_at.is_not(None)
    counts: dict[int, Counter] = defaultdict(Counter)
    for t, *values in db.session.execute(
        select(asked.c.t, func.count(asked.c.id), _count_if(answered),
               _count_if(and_(asked.c.status == "closed", asked.c.answered_at.is_(None))),
               _count_if(and_(answered, asked.c.due_at.is_not(None), asked.c.answered_at <= asked.c.due_at)),
               _count_if(and_(asked.c.due_at.is_not(None),
                              or_(answered, and_(asked.c.due_at < now, asked.c.status != "closed")))))
        .group_by(asked.c.t)
    ):
        counts[t].update(dict(zip(("asked", "answered", "closed_unanswered", "on_time", "due_decided"), values,
                                  strict=True)))
    rated = (select(_slot(Rating.created_at, buckets).label("t"), RATING_POINTS.label("points"))
             .select_from(Rating).join(Answer, Answer.id == Rating.answer_id).join(q, q.id == Answer.question_id)
             .join(tree, tree.c.org_id == q.org_id)
             .where(_in_period(Rating.created_at, period)).subquery("rated"))
    for t, points, n in db.session.execute(
            select(rated.c.t, func.sum(rated.c.points), func.count()).group_by(rated.c.t)):
        counts[t].update({"rating_points": int(points or 0), "rating_count": n})
    escalations = (select(_slot(AuditEvent.at, buckets).label("t"), AuditEvent.id)
                   .select_from(AuditEvent).join(q, q.id == AuditEvent.question_id).join(tree, tree.c.org_id == q.org_id)
                   .where(AuditEvent.action.in_(ESCALATION_ACTIONS), _in_period(AuditEvent.at, period))
                   .subquery("escalations"))
    for t, n in db.session.execute(select(escalations.c.t, func.count()).group_by(escalations.c.t)):
        counts[t]["escalated"] = n
    if pct is None:
        pct = _answer_percentiles(tree, period, [c.code for c in _lines()], buckets)
    rows = []
    for i, (label, first, last) in enumerate(buckets):
        figures = _derive(counts[i], pct.get(("slot", i)))
        rows.append({"label": label, "from": first.isoformat(), "to": last.isoformat(),
                     **{k: figures[k] for k in ("asked", "answered", "answer_rate", "on_time_rate",
                                                "median_hours_to_first_answer", "escalated", "rating")}})
    return {"unit": unit, "rows": rows}


# Participation -------------------------------------------------------------------------------------


def compute_participation(org: Procuratorate, period: Period, now: datetime) -> dict:
    """Per procuratorate of the scope: accounts (in use now), active users (those of them who logged in
    during the period: last log-in or a log-in in the audit log), askers and questions asked."""
    _tune_for_analytics()
    tree = _scope_tree(org)
    logged_in = or_(
        _in_period(User.last_login_at, period),
        User.id.in_(select(AuditEvent.actor_id).where(AuditEvent.action == LOGIN_ACTION,
                                                      _in_period(AuditEvent.at, period))),
    )
    counts: dict[int, Counter] = defaultdict(Counter)
    for bucket, accounts, active in db.session.execute(
        select(tree.c.bucket, _count_if(User.active.is_(True)), _count_if(and_(User.active.is_(True), logged_in)))
        .select_from(User).join(tree, tree.c.org_id == User.org_id).group_by(tree.c.bucket)
    ):
        counts[bucket].update({"accounts": accounts, "active": active})
    asking = (select(tree.c.bucket, func.count(distinct(Question.asker_id)), func.count(Question.id))
              .select_from(Question).join(tree, tree.c.org_id == Question.org_id)
              .where(_in_period(Question.created_at, period)))
    for bucket, askers, asked in db.session.execute(asking.group_by(tree.c.bucket)):
        counts[bucket].update({"askers": askers, "asked": asked})
    total = Counter()
    for c in counts.values():
        total.update(c)
    # A person who moved between procuratorates asks from both: count distinct people once overall.
    total["askers"] = db.session.execute(asking.with_only_columns(func.count(distinct(Question.asker_id)))).scalar_one()

    def row(c: Counter) -> dict:
        return {"accounts": c["accounts"], "active": c["active"], "active_rate": _ratio(c["active"], c["accounts"]),
                "askers": c["askers"], "asked": c["asked"]}

    return {"total": row(total),
            "rows": [{**_scope_json(o), "own": o.id == org.id, **row(counts[o.id])} for o in _children(org)]}


# Experts ---------------------------------------------------------------------------------------


def balanced_score(e: dict) -> float | None:
    """综合评价, 0-100: quality 50%, answered share 25%, on time 25%; None without any work in the period.

    Each part is a smoothed rate so that two or three cases cannot put someone first or last:
    quality is the mean rating with two extra ratings of 3 (the middle), rescaled from 1-5 to 0-1;
    the two shares add one success and one failure. Volume enters only through that smoothing.
    """
    if not e["assigned"] and not e["rating"]["count"]:
        return None
    points, n = e["rating_points"], e["rating"]["count"]
    quality = ((points / 4 + 3 * 2) / (n + 2) - 1) / 4
    answered = (e["answered"] + 1) / (e["assigned"] + 2)
    on_time = (e["on_time"] + 1) / (e["due_decided"] + 2)
    return round(100 * (0.5 * quality + 0.25 * answered + 0.25 * on_time), 1)


def compute_experts(org: Procuratorate, period: Period, now: datetime) -> list[dict]:
    """Per expert of the scope: their assignments in the period and how they were handled, ratings of
    their answers in the period, canonical answers made from them, and their open load now."""
    _tune_for_analytics()
    tree = _scope_tree(org)
    in_scope = select(User.id).join(tree, tree.c.org_id == User.org_id)
    assigned_in_period = select(Assignment.expert_id).where(_in_period(Assignment.assigned_at, period))
    experts = in_scope.where(or_(
        and_(User.active.is_(True), User.id.in_(select(UserRole.user_id).where(UserRole.role == "expert"))),
        User.id.in_(assigned_in_period)))
    held_past_due = and_(Assignment.due_at < now,
                         or_(Assignment.ended_at.is_(None), Assignment.ended_at > Assignment.due_at))
    # One row per (expert, question) assigned in the period, with the expert's first answer to it.
    # The period's assignments are read first (MATERIALIZED: planners otherwise walk every assignment
    # in expert order to save a sort, reading the whole table).
    expert = aliased(User)
    assigned = (select(Assignment.expert_id, Assignment.question_id, Assignment.assigned_at, Assignment.due_at,
                       case((held_past_due, 1), else_=0).label("held_past_due"))
                .where(_in_period(Assignment.assigned_at, period))
                .cte("assigned_in_period").prefix_with("MATERIALIZED"))
    pairs = (
        select(assigned.c.expert_id, assigned.c.question_id,
               func.min(assigned.c.assigned_at).label("assigned_at"), func.max(assigned.c.due_at).label("due_at"),
               func.max(assigned.c.held_past_due).label("held_past_due"),
               func.min(Answer.created_at).label("first_answer"))
        .select_from(assigned)
        .join(expert, expert.id == assigned.c.expert_id).join(tree, tree.c.org_id == expert.org_id)
        .outerjoin(Answer, and_(Answer.question_id == assigned.c.question_id, Answer.author_id == assigned.c.expert_id))
        .group_by(assigned.c.expert_id, assigned.c.question_id)
    ).cte("pairs").prefix_with("MATERIALIZED")
    answered = pairs.c.first_answer.is_not(None)
    counts = (select(pairs.c.expert_id, func.count().label("assigned"), _count_if(answered).label("answered"),
                     _count_if(and_(answered, pairs.c.first_answer <= pairs.c.due_at)).label("on_time"),
                     _count_if(or_(answered, pairs.c.held_past_due == 1)).label("decided"))
              .group_by(pairs.c.expert_id).subquery("counts"))
    medians = _percentile_select(
        select(pairs.c.expert_id.label("k"), hours_between(pairs.c.first_answer, pairs.c.assigned_at).label("v"))
        .where(answered)).subquery("medians")
    work = {eid: rest for eid, *rest in db.session.execute(
        select(counts.c.expert_id, counts.c.assigned, counts.c.answered, counts.c.on_time, counts.c.decided,
               medians.c.p50)
        .select_from(counts.outerjoin(medians, medians.c.k == counts.c.expert_id)))}
    author = aliased(User)
    ratings = {eid: (int(points or 0), n) for eid, points, n in db.session.execute(
        select(Answer.author_id, func.sum(RATING_POINTS), func.count(Rating.id))
        .select_from(Rating).join(Answer, Answer.id == Rating.answer_id)
        .join(author, author.id == Answer.author_id).join(tree, tree.c.org_id == author.org_id)
        .where(_in_period(Rating.created_at, period))
        .group_by(Answer.author_id))}
    canonical = dict(db.session.execute(
        select(Answer.author_id, func.count(CanonicalAnswer.id))
        .select_from(CanonicalAnswer).join(Answer, Answer.id == CanonicalAnswer.answer_id)
        .join(author, author.id == Answer.author_id).join(tree, tree.c.org_id == author.org_id)
        .where(_in_period(CanonicalAnswer.created_at, period), CanonicalAnswer.status != "withdrawn")
        .group_by(Answer.author_id)).all())
    # Open questions held now (as routing counts them: active assignments on open questions),
    # read from the open questions, which are few, rather than from each expert's assignments.
    open_questions = (select(Question.id).where(Question.status.in_(OPEN_STATUSES))
                      .cte("open_questions").prefix_with("MATERIALIZED"))
    load = dict(db.session.execute(
        select(Assignment.expert_id, func.count(Assignment.id))
        .select_from(open_questions).join(Assignment, Assignment.question_id == open_questions.c.id)
        .where(Assignment.active.is_(True))
        .group_by(Assignment.expert_id)).all())
    people = db.session.execute(
        select(User.id, User.username, User.name, Procuratorate.code, Procuratorate.name, expert_capacity())
        .join(Procuratorate, Procuratorate.id == User.org_id)
        .outerjoin(ExpertProfile, ExpertProfile.user_id == User.id)
        .where(User.id.in_(experts))).all()
    rows = []
    for uid, username, name, org_code, org_name, capacity in people:
        assigned, done, on_time, decided, p50 = work.get(uid, (0, 0, 0, 0, None))
        held = load.get(uid, 0)
        points, n = ratings.get(uid, (0, 0))
        row = {"username": username, "name": name, "org_code": org_code, "org_name": org_name,
               "assigned": assigned, "answered": done, "answer_rate": _ratio(done, assigned),
               "on_time": on_time, "due_decided": decided, "on_time_rate": _ratio(on_time, decided),
               "median_hours": _hours(p50), "rating_points": points,
               "rating": {"average": round(points / (4 * n), 2) if n else None, "count": n},
               "canonical": canonical.get(uid, 0), "load": held, "capacity": capacity,
               "load_rate": _ratio(held, capacity)}
        row["score"] = balanced_score(row)
        rows.append(row)
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), -r["rating"]["count"], r["name"], r["username"]))
    return rows


# Entry points (permission re-checked here) and the cache ------------------------------------------


_cache: dict[tuple, tuple[float, object]] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple, compute, fresh: bool, seconds: int):
    """Per-process cache of computed figures; each value carries the "as of" time it was computed at."""
    if seconds <= 0:
        return compute()
    stamp = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and not fresh and stamp - hit[0] < seconds:
            return hit[1]
    value = compute()
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = (stamp, value)
    return value


def cache_seconds() -> int:
    from flask import current_app

    return int(current_app.config.get("QA_STATS_CACHE_SECONDS", CACHE_SECONDS))  # 0 turns the cache off


def figures(user, org: Procuratorate, period: Period, *, now: datetime | None = None, fresh: bool = False) -> dict:
    """The headline figures and their breakdowns, as the API returns them. Raises PermissionDenied."""
    require(can_view_stats(user, org), "您只能查看本院及下级院的统计。")
    if now is not None:
        return compute_figures(org, period, now)
    key = ("figures", db.engine.url.render_as_string(), org.id, period)
    return _cached(key, lambda: compute_figures(org, period, utcnow()), fresh, cache_seconds())


def dashboard(user, org: Procuratorate, period: Period, unit: str | None = None, *,
              now: datetime | None = None, fresh: bool = False) -> dict:
    """Everything the statistics page shows. Raises PermissionDenied outside the user's subtree."""
    require(can_view_stats(user, org), "您只能查看本院及下级院的统计。")
    unit = trend_unit(period, unit)

    def compute(at: datetime) -> dict:
        data, pct = _compute_figures(org, period, at, trend_buckets(period, unit))
        data["trend"] = compute_trend(org, period, unit, at, pct)
        data["participation"] = compute_participation(org, period, at)
        data["experts"] = compute_experts(org, period, at)
        return data

    if now is not None:
        return compute(now)
    key = ("dashboard", db.engine.url.render_as_string(), org.id, period, unit)
    return _cached(key, lambda: compute(utcnow()), fresh, cache_seconds())


def breadcrumbs(user, org: Procuratorate) -> list[Procuratorate]:
    """From the user's own procuratorate down to `org` (for drilling back up)."""
    chain = [org]
    for parent in org.ancestors():
        if chain[-1].id == user.org_id:
            break
        chain.append(parent)
    return list(reversed(chain))


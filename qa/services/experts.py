"""The expert pool (答疑专家库): profiles managed by admins, and the figures of the expert directory."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func
from sqlalchemy.orm import selectinload

from qa.errors import ValidationError
from qa.extensions import begin_write, db
from qa.models import (
    Answer,
    Assignment,
    Category,
    ExpertProfile,
    ExpertSpeciality,
    ExpertTag,
    Procuratorate,
    Rating,
    User,
    UserRole,
)
from qa.permissions import Permission, can, require
from qa.services.accounts import update_user
from qa.services.audit import record
from qa.services.questions import parse_tags
from qa.services.routing import expert_capacity, expert_load
from qa.timeutil import china_today, utcnow

CAPACITY_MAX = 500
NOTE_MAX = 200


def _date(value, field: str, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"{label}须为 YYYY-MM-DD 格式的日期。") from None


def update_expert(actor, user: User, *, capacity=None, leave_until=None, term_start=None, term_end=None,
                  tags=None, specialities=None, note=None) -> ExpertProfile:
    """Set an expert's capacity, leave, term, tags (and business lines); actor None is the CLI.

    Raises PermissionDenied for non-admins, ValidationError for bad values or a non-expert.
    """
    if actor is not None:
        require(can(actor, Permission.ADMINISTER), "只有管理员可以管理答疑专家库。")
    if not user.has_role("expert"):
        raise ValidationError("username", f"{user.name}不是答疑专家，请先在用户管理中授予“答疑专家”角色。")
    if capacity is not None:
        if isinstance(capacity, str) and capacity.strip().isdecimal():
            capacity = int(capacity)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= CAPACITY_MAX:
            raise ValidationError("capacity", f"在办上限须为 0–{CAPACITY_MAX} 的整数。")
    leave_until = _date(leave_until, "leave_until", "休假截止日期")
    term_start = _date(term_start, "term_start", "聘期开始日期")
    term_end = _date(term_end, "term_end", "聘期结束日期")
    if term_start and term_end and term_end < term_start:
        raise ValidationError("term_end", "聘期结束日期不能早于开始日期。")
    tag_names = parse_tags(tags) if tags is not None else None
    note = (note or "").strip()[:NOTE_MAX] if note is not None else None
    begin_write()
    profile = db.session.get(ExpertProfile, user.id)
    if profile is None:
        profile = ExpertProfile(user_id=user.id)
        db.session.add(profile)
    before = {"capacity": profile.capacity, "leave_until": profile.leave_until, "term_start": profile.term_start,
              "term_end": profile.term_end}
    if capacity is not None:
        profile.capacity = capacity
    profile.leave_until, profile.term_start, profile.term_end = leave_until, term_start, term_end
    if note is not None:
        profile.note = note
    profile.updated_at = utcnow()
    changes = {k: [str(v) if v is not None else None, str(getattr(profile, k)) if getattr(profile, k) is not None
                   else None] for k, v in before.items() if v != getattr(profile, k)}
    if tag_names is not None:
        old = sorted(expert_tags(user))
        if old != sorted(tag_names):
            db.session.execute(db.delete(ExpertTag).where(ExpertTag.user_id == user.id))
            db.session.add_all(ExpertTag(user_id=user.id, name=name) for name in tag_names)
            changes["tags"] = [old, sorted(tag_names)]
    if specialities is not None:
        update_user(actor, user, specialities=specialities, commit=False)
    record(actor, "expert.updated", user, username=user.username, changes=changes)
    db.session.commit()
    return profile


def expert_tags(user: User) -> list[str]:
    return list(db.session.execute(
        db.select(ExpertTag.name).filter_by(user_id=user.id).order_by(ExpertTag.name)).scalars())


def directory_stats(user_ids) -> dict[int, dict]:
    """Per expert: questions answered, average rating (1–5), median hours from assignment to first answer."""
    ids = list(user_ids)
    stats = {uid: {"answered": 0, "rating": None, "ratings": 0, "median_hours": None} for uid in ids}
    if not ids:
        return stats
    started = (db.select(func.min(Assignment.assigned_at))
               .where(Assignment.expert_id == Answer.author_id, Assignment.question_id == Answer.question_id)
               .correlate(Answer).scalar_subquery())
    rows = db.session.execute(
        db.select(Answer.author_id, Answer.question_id, func.min(Answer.created_at), started)
        .where(Answer.author_id.in_(ids)).group_by(Answer.author_id, Answer.question_id)
    ).all()
    waits: dict[int, list[float]] = {}
    for author_id, _qid, first, start in rows:
        stats[author_id]["answered"] += 1
        if start is not None and first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=start.tzinfo)
            waits.setdefault(author_id, []).append(max((first - start).total_seconds(), 0) / 3600)
    for author_id, values in waits.items():
        stats[author_id]["median_hours"] = round(statistics.median(values), 1)
    score = (Rating.accuracy + Rating.basis + Rating.relevance + Rating.clarity) / 4.0
    for author_id, average, count in db.session.execute(
        db.select(Answer.author_id, func.avg(score), func.count(Rating.id))
        .join(Rating, and_(Rating.answer_id == Answer.id)).where(Answer.author_id.in_(ids)).group_by(Answer.author_id)
    ).all():
        stats[author_id]["rating"] = round(float(average), 2)
        stats[author_id]["ratings"] = count
    return stats


@dataclass
class PoolRow:
    user: User
    profile: ExpertProfile | None
    lines: list[str]
    tags: list[str]
    load: int
    capacity: int
    availability: str


def availability_text(profile: ExpertProfile | None, today: date) -> str:
    if profile is None:
        return "在岗"
    if profile.term_start is not None and today < profile.term_start:
        return f"聘期自 {profile.term_start.isoformat()} 起"
    if profile.term_end is not None and today > profile.term_end:
        return f"聘期已于 {profile.term_end.isoformat()} 结束"
    if profile.leave_until is not None and today <= profile.leave_until:
        return f"休假至 {profile.leave_until.isoformat()}"
    return "在岗"


def pool_rows(org_ids=None, category: str | None = None, limit: int | None = None, offset: int = 0,
              now=None) -> list[PoolRow]:
    """The experts of the pool (optionally of some procuratorates or one business line), by level and name."""
    load = expert_load()
    stmt = (
        db.select(User, ExpertProfile, load, expert_capacity())
        .join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == "expert"))
        .join(Procuratorate, Procuratorate.id == User.org_id)
        .outerjoin(ExpertProfile, ExpertProfile.user_id == User.id)
        .where(User.active.is_(True))
        .order_by(Procuratorate.level, Procuratorate.code, User.id)
        .options(selectinload(User.org))
    )
    if org_ids is not None:
        stmt = stmt.where(User.org_id.in_(list(org_ids)))
    if category:
        stmt = stmt.where(User.id.in_(db.select(ExpertSpeciality.user_id).filter_by(category_code=category)))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = db.session.execute(stmt).all()
    names = {c.code: c.name for c in db.session.execute(db.select(Category)).scalars()}
    tags: dict[int, list[str]] = {}
    for user_id, name in db.session.execute(
        db.select(ExpertTag.user_id, ExpertTag.name).where(ExpertTag.user_id.in_([r[0].id for r in rows]))
        .order_by(ExpertTag.name)
    ).all():
        tags.setdefault(user_id, []).append(name)
    today = china_today(now)
    return [PoolRow(user, profile, [names.get(c, c) for c in sorted(user.specialities)], tags.get(user.id, []),
                    load_count, capacity, availability_text(profile, today))
            for user, profile, load_count, capacity in rows]

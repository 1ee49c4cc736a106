"""Reading the audit log: chain verification, the admin viewer's filters and the CSV export."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Text, cast, select

from qa.errors import ValidationError
from qa.extensions import db
from qa.models import AuditEvent, User
from qa.models.audit_chain import GENESIS, chain_hash
from qa.permissions import Permission, can, require
from qa.timeutil import china_midnight, format_china

VERIFY_BATCH = 20_000


@dataclass
class VerifyResult:
    count: int = 0
    head_id: int | None = None
    head_hash: str = GENESIS
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the log in id order, recompute every hash and check every link; stop at the first break.

    A row whose content no longer matches its hash was edited; a row that does not link to the one
    before it (or a gap in the ids) means rows were deleted or inserted. `anchor` (id, hash), noted
    down earlier outside the database, also catches a log rewritten from that row onwards.
    """
    result = VerifyResult()
    c = AuditEvent.__table__.c
    stmt = select(c.id, c.prev_hash, c.at, c.actor_id, c.actor_roles, c.actor_org_id, c.action, c.object_type,
                  c.object_id, c.question_id, c.question_number, cast(c.detail, Text), c.ip, c.row_hash).order_by(c.id)
    conn = db.session.connection().execution_options(stream_results=True, yield_per=VERIFY_BATCH)
    last_id, last_hash = 0, GENESIS
    with conn.execute(stmt) as rows:  # a server-side cursor on PostgreSQL: closed however we leave
        for row in rows:
            rid = row[0]
            result.count += 1
            if rid != last_id + 1:
                return _broken(result, rid, f"编号不连续：第 {last_id + 1}–{rid - 1} 条记录缺失（被删除）。")
            if row[1] != last_hash:
                return _broken(result, rid, "与前一条记录不衔接：其前的记录被删除、修改，或此条之前插入了记录。")
            if chain_hash(*row[:13]) != row[13]:
                return _broken(result, rid, "内容与其哈希值不符：此条记录被修改过。")
            if anchor is not None and rid == anchor[0] and row[13] != anchor[1]:
                return _broken(result, rid, "与此前留存的锚点哈希不符：日志自此处起被重写。")
            last_id, last_hash = rid, row[13]
    result.head_id, result.head_hash = (last_id or None), last_hash
    if anchor is not None and anchor[0] > last_id:
        return _broken(result, last_id + 1, f"锚点记录（第 {anchor[0]} 条）已不存在：日志尾部被删除。")
    return result


def _broken(result: VerifyResult, row_id: int, reason: str) -> VerifyResult:
    result.broken_id, result.reason = row_id, reason
    return result


# The admin viewer --------------------------------------------------------------------------


@dataclass
class AuditFilters:
    person: str = ""  # username or name
    number: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_query(admin, filters: AuditFilters):
    """The audit rows matching the filters, newest first. Admins only (PermissionDenied otherwise)."""
    require(can(admin, Permission.ADMINISTER), "只有管理员可以查阅审计日志。")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationError("date_to", "结束日期不能早于开始日期。")
    stmt = db.select(AuditEvent).order_by(AuditEvent.id.desc())
    person = (filters.person or "").strip()
    if person:
        ids = db.select(User.id).where((User.username == person) | (User.name == person))
        stmt = stmt.where(AuditEvent.actor_id.in_(ids))
    if (filters.number or "").strip():
        stmt = stmt.where(AuditEvent.question_number == filters.number.strip())
    if (filters.action or "").strip():
        action = filters.action.strip()
        stmt = stmt.where(AuditEvent.action.startswith(action) if action.endswith(".") else AuditEvent.action == action)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.at >= china_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.at < china_midnight(filters.date_to + timedelta(days=1)))
    return stmt


def known_actions() -> list[str]:
    return list(db.session.execute(db.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).scalars())


CSV_HEADER = ["序号", "时间（北京时间）", "操作人", "用户名", "角色", "所在单位", "操作", "对象", "对象编号",
              "问题编号", "详情", "IP", "哈希"]


def export_csv(admin, filters: AuditFilters) -> Iterator[str]:
    """The filtered rows as CSV for Excel: UTF-8 with a BOM, streamed in chunks. Admins only."""
    from sqlalchemy.orm import selectinload

    from qa.trail import object_name, trail_label

    stmt = audit_query(admin, filters).options(selectinload(AuditEvent.actor), selectinload(AuditEvent.actor_org))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for e in db.session.execute(stmt.execution_options(yield_per=1000)).scalars():
        writer.writerow([
            e.id, format_china(e.at), e.actor.name if e.actor else "系统", e.actor.username if e.actor else "",
            e.actor_roles, e.actor_org.name if e.actor_org else "", f"{trail_label(e.action)}（{e.action}）",
            object_name(e.object_type), e.object_id, e.question_number or "", _detail_text(e.detail), e.ip or "", e.row_hash,
        ])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _detail_text(detail) -> str:
    if not detail:
        return ""
    return "；".join(f"{k}={v}" for k, v in sorted(detail.items()))

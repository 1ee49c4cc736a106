"""The admin audit-log viewer: filters (person, number, action, date range) and CSV export."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from qa.errors import ValidationError
from qa.extensions import db
from qa.models import AuditEvent
from qa.permissions import Permission, can
from qa.services.auditlog import AuditFilters, audit_query, export_csv, known_actions
from qa.timeutil import china_today

bp = Blueprint("audit", __name__)


@bp.before_request
@login_required
def require_admin():
    if not can(current_user, Permission.ADMINISTER):
        abort(403)


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


def _filters() -> AuditFilters:
    return AuditFilters(person=(request.args.get("person") or "")[:64], number=(request.args.get("number") or "")[:32],
                        action=(request.args.get("action") or "")[:40], date_from=_date("from"), date_to=_date("to"))


@bp.route("/admin/audit")
def index():
    filters = _filters()
    error = None
    try:
        stmt = audit_query(current_user._get_current_object(), filters)
    except ValidationError as exc:
        error, stmt = exc.message, audit_query(current_user._get_current_object(), AuditFilters())
    stmt = stmt.options(selectinload(AuditEvent.actor), selectinload(AuditEvent.actor_org))
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    pagination = db.paginate(stmt, page=page, per_page=50, max_per_page=100, error_out=False)
    return render_template("audit/index.html", pagination=pagination, filters=filters, error=error,
                           actions=known_actions())


@bp.route("/admin/audit.csv")
def export():
    filters = _filters()
    chunks = export_csv(current_user._get_current_object(), filters)
    first = next(chunks)  # permission and filter errors surface before the response starts
    name = f"审计日志-{china_today().isoformat()}.csv"

    def body():
        yield first
        yield from chunks

    return Response(stream_with_context(body()), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=audit.csv; filename*=UTF-8''{quote(name)}"})

"""Statistics pages: the dashboard for an admin's scope and period, and its CSV exports."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from qa.errors import ValidationError
from qa.permissions import Permission, can
from qa.services import stats
from qa.stats.tables import TABLES, cell, expert_table, table_csv

bp = Blueprint("stats", __name__)


@bp.before_request
@login_required
def require_admin():
    if not can(current_user, Permission.ADMINISTER):
        abort(403)


def _me():
    return current_user._get_current_object()


def _selection():
    """(scope, period, trend unit) from the query string; raises the services' errors."""
    args = request.args
    org = stats.resolve_scope(_me(), args.get("org"))
    period = stats.make_period(args.get("period") or "month", args.get("from"), args.get("to"))
    return org, period, stats.trend_unit(period, args.get("trend"))


def _form_values(org=None, period=None, unit=None) -> dict:
    args = request.args
    return {"org": org.code if org else (args.get("org") or ""), "period": args.get("period") or "month",
            "from": period.start.isoformat() if period else (args.get("from") or ""),
            "to": period.end.isoformat() if period else (args.get("to") or ""),
            "trend": unit or args.get("trend") or ""}


def export_args_for(form: dict) -> dict:
    """Query arguments that reproduce the current selection (for links and CSV exports)."""
    args = {"org": form["org"], "period": form["period"], "trend": form["trend"]}
    if form["period"] == "custom":
        args.update({"from": form["from"], "to": form["to"]})
    return {k: v for k, v in args.items() if v}


def drill_args_for(form: dict) -> dict:
    """The same selection for another procuratorate (the link adds its code)."""
    return {k: v for k, v in export_args_for(form).items() if k != "org"}


@bp.context_processor
def helpers():
    return {"cell": cell, "export_args_for": export_args_for, "drill_args_for": drill_args_for}


@bp.get("/stats/")
def dashboard():
    try:
        org, period, unit = _selection()
    except ValidationError as error:
        return render_template("stats/dashboard.html", error=error.message, form=_form_values(),
                               periods=stats.PERIOD_KINDS, units=stats.TREND_UNITS), 422
    data = stats.dashboard(_me(), org, period, unit, fresh=request.args.get("fresh") == "1")
    tables = {name: build(data) for name, build in TABLES.items() if name != "experts"}
    tables["experts"] = expert_table(data, limit=stats.EXPERTS_SHOWN)
    return render_template(
        "stats/dashboard.html", data=data, tables=tables, org=org, form=_form_values(org, period, unit),
        periods=stats.PERIOD_KINDS, units=stats.TREND_UNITS, crumbs=stats.breadcrumbs(_me(), org),
        experts_total=len(data["experts"]), experts_shown=stats.EXPERTS_SHOWN,
        charts=_charts(data), cache_minutes=stats.cache_seconds() // 60,
    )


@bp.get("/stats/export")
def export():
    """One table of the dashboard as CSV (UTF-8 with BOM): ?table=summary|by_category|by_org|trend|..."""
    name = request.args.get("table") or "summary"
    if name not in TABLES:
        abort(404)
    org, period, unit = _selection()
    data = stats.dashboard(_me(), org, period, unit)
    body = table_csv(TABLES[name](data), data)
    filename = f"stats-{name}-{org.code}-{period.start.isoformat()}_{period.end.isoformat()}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _charts(data: dict) -> dict:
    """Chart descriptions for static/js/stats.js (read from data-chart attributes: no inline script)."""
    trend = data["trend"]["rows"]
    lines = data["by_category"]

    def pct(value):
        return round(value * 100, 1) if value is not None else None

    return {
        "trend_volume": {
            "labels": [r["label"] for r in trend],
            "datasets": [
                {"label": "提问数", "data": [r["asked"] for r in trend], "type": "line", "axis": "y"},
                {"label": "已答复", "data": [r["answered"] for r in trend], "type": "line", "axis": "y"},
            ],
            "axes": {"y": {"title": "件数", "min": 0}},
        },
        "trend_quality": {
            "labels": [r["label"] for r in trend],
            "datasets": [
                {"label": "按时答复率（%）", "data": [pct(r["on_time_rate"]) for r in trend], "type": "line",
                 "axis": "y"},
                {"label": "质量评定均分", "data": [r["rating"]["average"] for r in trend], "type": "line",
                 "axis": "y1"},
            ],
            "axes": {"y": {"title": "按时答复率（%）", "min": 0, "max": 100},
                     "y1": {"title": "均分（1–5）", "min": 1, "max": 5}},
        },
        "by_category": {
            "labels": [r["name"].split("（")[0] for r in lines],
            "datasets": [
                {"label": "提问数", "data": [r["asked"] for r in lines], "type": "bar", "axis": "y"},
                {"label": "已答复", "data": [r["answered"] for r in lines], "type": "bar", "axis": "y"},
                {"label": "质量评定均分", "data": [r["rating"]["average"] for r in lines], "type": "line",
                 "axis": "y1"},
            ],
            "axes": {"y": {"title": "件数", "min": 0}, "y1": {"title": "均分（1–5）", "min": 1, "max": 5}},
        },
    }

"""GET /api/v1/stats: the dashboard's headline figures and breakdowns for other systems."""
from __future__ import annotations

from flask import g, jsonify, request

from qa.api.schemas import iso
from qa.api.views import bp
from qa.services import stats

FIGURE_KEYS = ("asked", "answered", "closed", "answer_rate", "on_time", "on_time_rate",
               "median_hours_to_first_answer", "p90_hours_to_first_answer", "overdue", "escalated",
               "accepted", "accepted_rate", "rating", "canonical")


def _figures_json(row: dict) -> dict:
    return {key: row[key] for key in FIGURE_KEYS}


@bp.get("/stats")
def statistics():
    """?org=<code>&from=YYYY-MM-DD&to=YYYY-MM-DD (China time, both days included).

    `org` defaults to the caller's procuratorate, the period to this month up to today; outside the
    caller's subtree 403. Rates are fractions (0-1) or null when there is nothing to divide by.
    """
    user = g.api_user
    org = stats.resolve_scope(user, request.args.get("org"))
    start, end = request.args.get("from"), request.args.get("to")
    period = stats.make_period("custom", start, end) if (start or end) else stats.make_period("month")
    data = stats.figures(user, org, period, fresh=request.args.get("fresh") == "1")
    return jsonify({
        "scope": data["scope"],
        "period": {"from": data["period"]["from"], "to": data["period"]["to"], "timezone": "Asia/Shanghai"},
        "as_of": iso(data["as_of"]),
        **_figures_json(data),
        "by_category": [{"code": r["code"], "name": r["name"], **_figures_json(r)} for r in data["by_category"]],
        "by_org": [{"code": r["code"], "name": r["name"], "level": r["level"], "own": r["own"], **_figures_json(r)}
                   for r in data["by_org"]],
    })

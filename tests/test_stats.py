"""Statistics: every figure against values computed by hand on a known fixture; scope, periods, CSV."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from qa.errors import NotFound, PermissionDenied, ValidationError
from qa.extensions import db
from qa.models import (
    Answer,
    Assignment,
    AuditEvent,
    CanonicalAnswer,
    ExpertProfile,
    Procuratorate,
    Question,
    Rating,
)
from qa.services import stats
from qa.services.accounts import create_api_token
from qa.timeutil import CHINA, china_today
from tests.factories import make_user

# "Now" for every figure: 2026-04-10 12:00 China time. The period is March 2026 (China time).
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=CHINA).astimezone(UTC)
MARCH = stats.Period("custom", date(2026, 3, 1), date(2026, 3, 31))


def cn(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A China-time moment in 2026, as the UTC datetime stored in the database."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def app(app):
    app.config["QA_STATS_CACHE_SECONDS"] = 0  # PostgreSQL reuses ids across tests: never serve a stale page
    return app


@pytest.fixture
def world(orgs):
    """Ten questions around March 2026 with assignments, answers, ratings, canonical answers, escalations."""
    u = {
        "admin_spp": make_user("admin_spp", "100000", roles=["admin"], name="全国管理员"),
        "admin_bj": make_user("admin_bj", "110000", roles=["admin"], name="北京管理员"),
        "admin_city": make_user("admin_city", "110100", roles=["admin"], name="分院管理员"),
        "mod1": make_user("mod1", "110000", roles=["moderator"], name="评查一"),
        "mod2": make_user("mod2", "110000", roles=["moderator"], name="评查二"),
        "expert_bj": make_user("expert_bj", "110000", roles=["expert"], specialities=["civil"], name="市院专家"),
        "expert_idle": make_user("expert_idle", "110000", roles=["expert"], specialities=["civil"], name="空闲专家"),
        "expert_city": make_user("expert_city", "110100", roles=["expert"], specialities=["criminal"], name="分院专家"),
        "city_staff": make_user("city_staff", "110100", name="分院干警"),
        "asker_cy": make_user("asker_cy", "110105", name="朝阳干警"),
        "asker_hd": make_user("asker_hd", "110108", name="海淀干警"),
        "gone": make_user("gone", "110105", name="已停用"),
        "expert_js": make_user("expert_js", "320100", roles=["expert"], specialities=["criminal"], name="南京专家"),
        "asker_xw": make_user("asker_xw", "320102", name="玄武干警"),
        "plain": make_user("plain", "110105", name="普通用户"),
    }
    u["gone"].active = False
    db.session.add(ExpertProfile(user_id=u["expert_city"].id, capacity=5))
    # Logins: last_login_at, and the audit log for a login that a later one overwrote.
    u["asker_cy"].last_login_at = cn(3, 5)
    u["asker_hd"].last_login_at = cn(4, 2)
    u["asker_xw"].last_login_at = cn(2, 27)
    u["expert_city"].last_login_at = cn(3, 31, 23)
    u["gone"].last_login_at = cn(3, 10)
    db.session.add(AuditEvent(at=cn(3, 15), actor_id=u["asker_hd"].id, action="user.login",
                              object_type="user", object_id=str(u["asker_hd"].id), detail={}))
    db.session.add(AuditEvent(at=cn(4, 3), actor_id=u["plain"].id, action="user.login",
                              object_type="user", object_id=str(u["plain"].id), detail={}))
    db.session.flush()

    questions = {}

    def question(key, org, asker, category, created, status, due=None, answered=None):
        seq = len(questions) + 1
        q = Question(number=f"JD2026-{org}-{seq:05d}", org_id=orgs[org].id, year=2026, seq=seq,
                     asker_id=u[asker].id, category_code=category, title=f"问题{key}", body_md="内容",
                     body_html="<p>内容</p>", status=status, due_at=due, created_at=created, updated_at=created,
                     answered_at=answered)
        db.session.add(q)
        db.session.flush()
        questions[key] = q
        return q

    def assign(q, expert, at, due, ended=None):
        db.session.add(Assignment(question_id=q.id, expert_id=u[expert].id, org_id=u[expert].org_id, assigned_at=at,
                                  due_at=due, active=ended is None, ended_at=ended))

    def answer(q, expert, at):
        a = Answer(question_id=q.id, author_id=u[expert].id, author_org_id=u[expert].org_id, body_md="答复",
                   body_html="<p>答复</p>", created_at=at, updated_at=at)
        db.session.add(a)
        db.session.flush()
        return a

    def rate(a, rater, scores, at):
        db.session.add(Rating(answer_id=a.id, rater_id=u[rater].id, accuracy=scores[0], basis=scores[1],
                              relevance=scores[2], clarity=scores[3], comment="评语", created_at=at))

    def canonical(a, at, status="in_force"):
        db.session.add(CanonicalAnswer(answer_id=a.id, question_id=a.question_id, text_md="权威", text_html="<p>权威</p>",
                                       status=status, curated_by_id=u["admin_spp"].id, created_at=at))

    def event(q, action, at):
        db.session.add(AuditEvent(at=at, action=action, object_type="question", object_id=str(q.id),
                                  question_id=q.id, question_number=q.number, detail={}))

    # Q1: at the very first instant of March; answered after 36 h, on time, accepted, rated, canonical.
    q1 = question("Q1", "110105", "asker_cy", "criminal_ordinary", cn(3, 1), "resolved", cn(3, 11), cn(3, 2, 12))
    assign(q1, "expert_city", cn(3, 1), cn(3, 11))
    a1 = answer(q1, "expert_city", cn(3, 2, 12))
    answer(q1, "expert_city", cn(3, 4))  # a second answer: not the first
    q1.accepted_answer_id = a1.id
    rate(a1, "mod1", (5, 5, 4, 4), cn(3, 3))
    canonical(a1, cn(3, 5))
    # Q2: answered late (360 h), rated 3s.
    q2 = question("Q2", "110105", "asker_cy", "civil", cn(3, 10, 8), "answered", cn(3, 20, 8), cn(3, 25, 8))
    assign(q2, "expert_bj", cn(3, 10, 8), cn(3, 20, 8))
    rate(answer(q2, "expert_bj", cn(3, 25, 8)), "mod1", (3, 3, 3, 3), cn(3, 26))
    # Q3: the last minute of March; open, due after "now".
    q3 = question("Q3", "110108", "asker_hd", "criminal", cn(3, 31, 23, 59), "assigned", cn(4, 10, 23, 59))
    assign(q3, "expert_city", cn(3, 31, 23, 59), cn(4, 10, 23, 59))
    # Q4: the first instant of April (outside the period); answered.
    q4 = question("Q4", "110108", "asker_hd", "criminal", cn(4, 1), "answered", cn(4, 11), cn(4, 2))
    assign(q4, "expert_bj", cn(4, 1), cn(4, 11))
    answer(q4, "expert_bj", cn(4, 2))
    # Q5: the last second of February (outside); open and overdue now; escalated in March.
    q5 = question("Q5", "110105", "asker_cy", "criminal", cn(2, 28, 23, 59, 59), "assigned", cn(3, 10))
    assign(q5, "expert_city", cn(2, 28, 23, 59, 59), cn(3, 10))
    event(q5, "question.escalated", cn(3, 20))
    # Q6: Jiangsu; never answered, overdue now, escalated in March and again in April.
    q6 = question("Q6", "320102", "asker_xw", "criminal", cn(3, 15, 10), "assigned", cn(3, 25, 10))
    assign(q6, "expert_js", cn(3, 15, 10), cn(3, 25, 10), ended=cn(3, 26))
    event(q6, "question.escalated", cn(3, 26))
    event(q6, "question.escalated", cn(4, 2))
    event(q6, "question.transferred", cn(3, 16))
    # Q7: asked at the city procuratorate itself; withdrawn (closed) without an answer.
    q7 = question("Q7", "110100", "city_staff", "administrative", cn(3, 5, 9), "closed", cn(3, 15, 9))
    assign(q7, "expert_city", cn(3, 5, 9), cn(3, 15, 9), ended=cn(3, 6))
    # Q8: answered in 24 h; one rating in March, one in April.
    q8 = question("Q8", "110105", "asker_cy", "criminal_economic", cn(3, 20, 10), "answered", cn(3, 30, 10),
                  cn(3, 21, 10))
    assign(q8, "expert_city", cn(3, 20, 10), cn(3, 30, 10))
    a8 = answer(q8, "expert_city", cn(3, 21, 10))
    rate(a8, "mod2", (2, 2, 2, 2), cn(3, 28))
    rate(a8, "mod1", (4, 4, 4, 4), cn(4, 2))
    # Q9: answered in 6 h, accepted; made canonical in April.
    q9 = question("Q9", "110108", "asker_hd", "public_interest", cn(3, 12, 12), "resolved", cn(3, 22, 12),
                  cn(3, 12, 18))
    assign(q9, "expert_bj", cn(3, 12, 12), cn(3, 22, 12))
    a9 = answer(q9, "expert_bj", cn(3, 12, 18))
    q9.accepted_answer_id = a9.id
    canonical(a9, cn(4, 5))
    # Q10: Jiangsu; answered exactly at the due time (on time); its canonical answer was withdrawn.
    q10 = question("Q10", "320102", "asker_xw", "civil", cn(3, 3, 8), "answered", cn(3, 13, 8), cn(3, 13, 8))
    assign(q10, "expert_js", cn(3, 3, 8), cn(3, 13, 8))
    canonical(answer(q10, "expert_js", cn(3, 13, 8)), cn(3, 20), status="withdrawn")
    db.session.commit()
    return u


def by_code(rows, code):
    return next(r for r in rows if r["code"] == code)


def test_headline_figures_match_the_hand_computed_values(world):
    f = stats.figures(world["admin_spp"], world["admin_spp"].org, MARCH, now=NOW)
    assert f["scope"]["code"] == "100000"
    assert (f["asked"], f["answered"], f["closed"]) == (8, 5, 1)  # Q1 Q2 Q3 Q6 Q7 Q8 Q9 Q10; Q7 withdrawn
    assert f["answer_rate"] == pytest.approx(5 / 7, abs=1e-4)
    assert f["on_time"] == 4  # Q1 Q8 Q9 Q10 (Q10 exactly at its due time)
    assert f["on_time_rate"] == pytest.approx(4 / 6, abs=1e-4)  # answered 5 + Q6 past due unanswered
    assert f["median_hours_to_first_answer"] == 36.0  # 6, 24, 36, 240, 360
    assert f["p90_hours_to_first_answer"] == 312.0  # 240 + 0.6 × 120
    assert f["overdue"] == 2  # Q5 (asked in February) and Q6, as of now
    assert f["escalated"] == 2  # Q5 and Q6 in March; Q6's April escalation and the transfer excluded
    assert f["accepted"] == 2 and f["accepted_rate"] == 0.4
    assert f["rating"] == {"average": 3.17, "count": 3}  # (18 + 12 + 8) / 12; Q8's April rating excluded
    assert f["canonical"] == 1  # Q1; Q9's is April, Q10's withdrawn


def test_breakdown_by_business_line(world):
    f = stats.figures(world["admin_spp"], world["admin_spp"].org, MARCH, now=NOW)
    lines = f["by_category"]
    assert [r["code"] for r in lines][:4] == ["criminal", "civil", "administrative", "public_interest"]
    criminal = by_code(lines, "criminal")  # sub-lines count under 刑事检察
    assert (criminal["asked"], criminal["answered"], criminal["answer_rate"]) == (4, 2, 0.5)
    assert criminal["on_time_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (criminal["median_hours_to_first_answer"], criminal["p90_hours_to_first_answer"]) == (30.0, 34.8)
    assert (criminal["overdue"], criminal["escalated"], criminal["accepted_rate"]) == (2, 2, 0.5)
    assert criminal["rating"] == {"average": 3.25, "count": 2}
    assert criminal["canonical"] == 1
    civil = by_code(lines, "civil")
    assert (civil["asked"], civil["answered"], civil["answer_rate"], civil["on_time_rate"]) == (2, 2, 1.0, 0.5)
    assert (civil["median_hours_to_first_answer"], civil["p90_hours_to_first_answer"]) == (300.0, 348.0)
    assert civil["rating"] == {"average": 3.0, "count": 1} and civil["accepted_rate"] == 0.0
    assert civil["canonical"] == 0
    administrative = by_code(lines, "administrative")
    assert (administrative["asked"], administrative["closed"]) == (1, 1)
    assert administrative["answer_rate"] is None and administrative["on_time_rate"] is None
    assert by_code(lines, "public_interest")["median_hours_to_first_answer"] == 6.0
    juvenile = by_code(lines, "juvenile")
    assert juvenile["asked"] == 0 and juvenile["rating"] == {"average": None, "count": 0}
    assert sum(r["asked"] for r in lines) == f["asked"]


def test_breakdown_by_procuratorate(world):
    f = stats.figures(world["admin_spp"], world["admin_spp"].org, MARCH, now=NOW)
    assert [(r["code"], r["own"]) for r in f["by_org"]] == [("100000", True), ("110000", False), ("320000", False)]
    bj, js = by_code(f["by_org"], "110000"), by_code(f["by_org"], "320000")
    assert (bj["asked"], bj["answered"], bj["answer_rate"], bj["on_time_rate"]) == (6, 4, 0.8, 0.75)
    assert (bj["median_hours_to_first_answer"], bj["p90_hours_to_first_answer"]) == (30.0, 262.8)
    assert (bj["overdue"], bj["escalated"], bj["accepted_rate"], bj["canonical"]) == (1, 1, 0.5, 1)
    assert bj["rating"] == {"average": 3.17, "count": 3}
    assert (js["asked"], js["answered"], js["answer_rate"], js["on_time_rate"]) == (2, 1, 0.5, 0.5)
    assert (js["median_hours_to_first_answer"], js["overdue"], js["escalated"]) == (240.0, 1, 1)
    assert js["rating"]["count"] == 0
    assert by_code(f["by_org"], "100000")["asked"] == 0

    city = stats.figures(world["admin_city"], world["admin_city"].org, MARCH, now=NOW)
    assert city["asked"] == 6 and city["overdue"] == 1
    rows = {r["code"]: r for r in city["by_org"]}
    assert list(rows) == ["110100", "110105", "110108"]
    assert (rows["110100"]["asked"], rows["110105"]["asked"], rows["110108"]["asked"]) == (1, 3, 2)
    assert rows["110105"]["overdue"] == 1 and rows["110105"]["median_hours_to_first_answer"] == 36.0


def test_trend_by_week_in_china_time(world):
    data = stats.dashboard(world["admin_spp"], world["admin_spp"].org, MARCH, "week", now=NOW)
    trend = data["trend"]
    assert trend["unit"] == "week"
    # 1 March 2026 is a Sunday: the first "week" is that one day; weeks run Monday to Sunday.
    assert [r["label"] for r in trend["rows"]] == ["03-01～03-01", "03-02～03-08", "03-09～03-15",
                                                   "03-16～03-22", "03-23～03-29", "03-30～03-31"]
    assert [r["asked"] for r in trend["rows"]] == [1, 2, 3, 1, 0, 1]
    assert [r["answered"] for r in trend["rows"]] == [1, 1, 2, 1, 0, 0]
    assert trend["rows"][1]["rating"] == {"average": 4.5, "count": 1}
    assert trend["rows"][4]["rating"] == {"average": 2.5, "count": 2}
    assert [r["escalated"] for r in trend["rows"]] == [0, 0, 0, 1, 1, 0]
    assert trend["rows"][2]["median_hours_to_first_answer"] == 183.0  # Q2 360 h, Q9 6 h
    monthly = stats.dashboard(world["admin_spp"], world["admin_spp"].org, MARCH, "month", now=NOW)["trend"]
    assert [(r["label"], r["asked"]) for r in monthly["rows"]] == [("2026-03", 8)]


def test_participation(world):
    p = stats.dashboard(world["admin_spp"], world["admin_spp"].org, MARCH, now=NOW)["participation"]
    # Accounts: those in use now. Active users: of those, logged in during March (last log-in or the
    # audit log): asker_cy, asker_hd (audit log only), expert_city (23:00 on 31 March); not the
    # deactivated account, not a log-in on 3 April or in February.
    assert p["total"] == {"accounts": 14, "active": 3, "active_rate": round(3 / 14, 4), "askers": 4, "asked": 8}
    bj = by_code(p["rows"], "110000")
    assert (bj["accounts"], bj["active"], bj["askers"], bj["asked"]) == (11, 3, 3, 6)
    assert by_code(p["rows"], "320000")["active"] == 0


def test_experts_table_is_balanced_and_scoped(world):
    rows = stats.dashboard(world["admin_spp"], world["admin_spp"].org, MARCH, now=NOW)["experts"]
    assert [r["username"] for r in rows] == ["expert_city", "expert_bj", "expert_js", "expert_idle"]
    city, bj, js, idle = rows
    assert (city["assigned"], city["answered"], city["on_time"], city["on_time_rate"]) == (4, 2, 2, 1.0)
    assert city["median_hours"] == 30.0 and city["rating"] == {"average": 3.25, "count": 2}
    assert (city["canonical"], city["load"], city["capacity"], city["load_rate"]) == (1, 2, 5, 0.4)
    assert city["score"] == pytest.approx(57.8, abs=0.05)
    assert (bj["assigned"], bj["answered"], bj["on_time_rate"], bj["median_hours"]) == (2, 2, 0.5, 183.0)
    assert (bj["rating"]["average"], bj["canonical"], bj["load"], bj["capacity"]) == (3.0, 0, 0, 10)
    assert bj["score"] == pytest.approx(56.25, abs=0.06)
    assert (js["assigned"], js["answered"], js["on_time_rate"], js["median_hours"]) == (2, 1, 0.5, 240.0)
    assert js["score"] == 50.0 and js["canonical"] == 0
    assert idle["assigned"] == 0 and idle["score"] is None
    # More answers alone do not rank first: expert_bj answered all, expert_city half, but rated higher.
    city_rows = stats.dashboard(world["admin_city"], world["admin_city"].org, MARCH, now=NOW)["experts"]
    assert [r["username"] for r in city_rows] == ["expert_city"]


def test_periods_follow_china_time():
    # 16:30 UTC on 31 March is 00:30 on 1 April in China: "this month" is April.
    today = china_today(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    assert today == date(2026, 4, 1)
    month = stats.make_period("month", today=today)
    assert (month.start, month.end) == (date(2026, 4, 1), date(2026, 4, 1))
    assert month.start_utc == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert month.end_utc == datetime(2026, 4, 1, 16, 0, tzinfo=UTC)
    quarter = stats.make_period("quarter", today=date(2026, 6, 30))
    assert (quarter.start, quarter.end) == (date(2026, 4, 1), date(2026, 6, 30))
    year = stats.make_period("year", today=date(2026, 6, 30))
    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 6, 30))
    custom = stats.make_period("custom", "2026-03-01", "2026-03-31")
    assert custom == MARCH and custom.default_unit() == "week"
    for kind, start, end in [("custom", "2026-03-31", "2026-03-01"), ("custom", "2026-3-1x", "2026-03-31"),
                             ("custom", None, "2026-03-31"), ("custom", "2020-01-01", "2026-03-31"),
                             ("decade", None, None)]:
        with pytest.raises(ValidationError):
            stats.make_period(kind, start, end)
    # A year by week would be 53 columns: shown by month unless asked; more than 60 weeks never.
    assert stats.trend_unit(year, None) == "month"
    assert stats.trend_unit(stats.make_period("custom", "2025-01-01", "2026-03-31"), "week") == "month"


def test_boundaries_of_the_period(world):
    """Q1 at 00:00 on 1 March and Q3 at 23:59 on 31 March are in; Q5 (23:59:59 on 28 February) and Q4
    (00:00 on 1 April) are out; moving the period by a day moves them."""
    admin = world["admin_spp"]
    first_day = stats.figures(admin, admin.org, stats.Period("custom", date(2026, 3, 1), date(2026, 3, 1)), now=NOW)
    assert first_day["asked"] == 1
    last_day = stats.figures(admin, admin.org, stats.Period("custom", date(2026, 3, 31), date(2026, 3, 31)), now=NOW)
    assert last_day["asked"] == 1
    around = stats.figures(admin, admin.org, stats.Period("custom", date(2026, 2, 28), date(2026, 4, 1)), now=NOW)
    assert around["asked"] == 10


def test_scope_is_the_admins_subtree(world):
    bj = world["admin_bj"]
    assert stats.resolve_scope(bj, None).code == "110000"
    assert stats.resolve_scope(bj, "110105").code == "110105"
    with pytest.raises(PermissionDenied):
        stats.resolve_scope(bj, "320000")  # another province
    with pytest.raises(PermissionDenied):
        stats.resolve_scope(bj, "100000")  # the level above
    with pytest.raises(PermissionDenied):
        stats.resolve_scope(world["expert_city"], "110100")  # not an admin, whatever the code
    with pytest.raises(NotFound):
        stats.resolve_scope(bj, "999999")
    spp = db.session.execute(db.select(Procuratorate).filter_by(code="100000")).scalar_one()
    with pytest.raises(PermissionDenied):
        stats.figures(bj, spp, MARCH, now=NOW)  # the service checks again
    assert stats.resolve_scope(world["admin_spp"], "320102").code == "320102"


# Pages and API ------------------------------------------------------------------------------


def login(client, username):
    from tests.factories import PASSWORD

    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302


def test_page_shows_the_figures_for_the_admins_scope(client, world):
    login(client, "admin_bj")
    page = client.get("/stats/?period=custom&from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "北京市人民检察院" in html and "统计" in html
    assert "按时答复率" in html and "质量评定" in html and "数据截至" in html
    assert 'data-chart="' in html or "data-chart='" in html
    assert "<script>" not in html  # charts get their data from data-* attributes, not inline script
    assert "北京市人民检察院第一分院" in html  # the child row of the by-procuratorate table
    assert "市院专家" in html and "南京专家" not in html  # experts of the scope only
    drill = client.get("/stats/?org=110105&period=custom&from=2026-03-01&to=2026-03-31")
    assert drill.status_code == 200 and "北京市朝阳区人民检察院" in drill.get_data(as_text=True)
    assert client.get("/stats/?org=320000").status_code == 403
    assert client.get("/stats/?org=100000").status_code == 403
    assert client.get("/stats/?org=999999").status_code == 404
    bad = client.get("/stats/?period=custom&from=2026-03-31&to=2026-03-01")
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)


def test_non_admins_get_403(client, world):
    login(client, "expert_city")
    assert client.get("/stats/").status_code == 403
    assert client.get("/stats/export?table=by_org").status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get("/stats/").status_code == 302


def test_csv_exports_have_a_bom_and_the_figures(client, world):
    login(client, "admin_spp")
    query = "period=custom&from=2026-03-01&to=2026-03-31"
    response = client.get(f"/stats/export?table=by_org&{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["代码", "检察院", "提问数"]
    beijing = next(r for r in rows if r[0] == "110000")
    assert beijing[1] == "北京市人民检察院" and beijing[2] == "6"
    assert beijing[header.index("答复率")] == "80.0%"
    for table in ("summary", "by_category", "trend", "participation", "experts"):
        response = client.get(f"/stats/export?table={table}&{query}")
        assert response.status_code == 200 and response.get_data().startswith(b"\xef\xbb\xbf"), table
    experts = client.get(f"/stats/export?table=experts&{query}").get_data().decode("utf-8-sig")
    assert "分院专家" in experts and "综合评价" in experts
    assert client.get(f"/stats/export?table=nonsense&{query}").status_code == 404


def test_api_returns_the_figures_and_enforces_the_scope(client, world):
    _token, raw = create_api_token(world["admin_bj"], world["admin_bj"], "统计对接")
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.get("/api/v1/stats?from=2026-03-01&to=2026-03-31", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["scope"]["code"] == "110000"
    assert body["period"]["from"] == "2026-03-01" and body["period"]["to"] == "2026-03-31"
    for key in ("asked", "answered", "answer_rate", "on_time_rate", "median_hours_to_first_answer", "overdue",
                "escalated", "accepted_rate", "rating", "canonical", "by_category", "by_org", "as_of"):
        assert key in body, key
    assert body["asked"] == 6 and body["answered"] == 4 and body["answer_rate"] == 0.8
    assert body["rating"]["count"] == 3
    assert [r["code"] for r in body["by_org"]] == ["110000", "110100"]
    child = client.get("/api/v1/stats?org=110100&from=2026-03-01&to=2026-03-31", headers=headers).get_json()
    assert child["asked"] == 6
    outside = client.get("/api/v1/stats?org=320000&from=2026-03-01&to=2026-03-31", headers=headers)
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "forbidden"
    bad = client.get("/api/v1/stats?from=2026-03-31&to=2026-03-01", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "to"
    _t2, asker_raw = create_api_token(world["asker_cy"], world["asker_cy"], "对接")
    denied = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {asker_raw}"})
    assert denied.status_code == 403
    default = client.get("/api/v1/stats", headers=headers).get_json()
    today = china_today()
    assert default["period"]["from"] == today.replace(day=1).isoformat() and default["period"]["to"] == today.isoformat()


def test_cache_serves_figures_with_their_as_of_time(app, world):
    app.config["QA_STATS_CACHE_SECONDS"] = 300
    admin = world["admin_spp"]
    first = stats.figures(admin, admin.org, MARCH)
    db.session.add(Question(number="JD2026-110105-09999", org_id=admin.org.id, year=2026, seq=9999,
                            asker_id=world["asker_cy"].id, category_code="civil", title="新问题", body_md="x",
                            body_html="x", status="pending", created_at=cn(3, 9), updated_at=cn(3, 9)))
    db.session.commit()
    again = stats.figures(admin, admin.org, MARCH)
    assert again["asked"] == first["asked"] and again["as_of"] == first["as_of"]
    fresh = stats.figures(admin, admin.org, MARCH, fresh=True)
    assert fresh["asked"] == first["asked"] + 1 and fresh["as_of"] >= first["as_of"]
    assert fresh["as_of"] - first["as_of"] < timedelta(minutes=5)

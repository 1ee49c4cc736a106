"""Statistics dashboard benchmark: seed a platform-sized database, time the dashboard and the API.

    .venv/bin/python bench/stats_dashboard.py [--db sqlite:////tmp/stats_bench.db | postgresql+psycopg://…]
                                              [--reuse] [--runs 5]

Seeds (bulk inserts, not the services) 3,000 procuratorates (SPP, 32 provinces, 384 cities, 2,583
grassroots), 5,000 users (660 experts, some with an expert profile), 200,000 questions over 23 months
up to today, 200,000 assignments, 400,000 answers, ~45,000 ratings, ~3,600 canonical answers and
~270,000 audit events (question.created, user.login, question.escalated). Then prints, for the
whole platform (the SPP admin) and one province, the time of the uncached computation (the whole
dashboard, and the API's figures alone) for this month, this quarter and this year, and the time of
the page and API requests through Flask, uncached and from the cache (the page says "数据截至 …").
PostgreSQL URLs get their own schema (stats_bench), dropped and re-created unless --reuse.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from qa import create_app  # noqa: E402
from qa.extensions import db  # noqa: E402
from qa.models import (  # noqa: E402
    Answer,
    Assignment,
    AuditEvent,
    CanonicalAnswer,
    ExpertProfile,
    Procuratorate,
    Question,
    Rating,
    User,
    UserRole,
)
from qa.services import stats  # noqa: E402
from qa.services.setup import sync_categories  # noqa: E402
from qa.timeutil import CHINA, utcnow  # noqa: E402

PASSWORD = "bench-pass-2026"
SCHEMA = "stats_bench"
LINES = [("criminal_ordinary", 22), ("criminal_major", 8), ("criminal_economic", 10), ("criminal_duty", 5),
         ("criminal", 10), ("civil", 12), ("administrative", 7), ("public_interest", 9), ("juvenile", 5),
         ("enforcement", 3), ("petition", 4), ("investigation", 2), ("case_management", 2), ("general", 1)]
PHRASES = ["犯罪嫌疑人", "认罪认罚从宽", "危险驾驶罪", "帮助信息网络犯罪活动罪", "羁押必要性审查", "公益诉讼",
           "民事检察监督", "行政争议实质性化解", "未成年人", "刑事执行", "司法解释", "量刑建议", "证据",
           "法律适用", "如何认定", "是否构成", "程序", "检察建议", "申诉", "审查起诉"]


def sentence(rng: random.Random, chars: int) -> str:
    out, n = [], 0
    while n < chars:
        p = rng.choice(PHRASES)
        out.append(p)
        n += len(p)
    return "，".join(out) + "。"


def chunks(rows, size=5000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def bulk(model, rows) -> None:
    for part in chunks(rows):
        db.session.execute(insert(model), part)


def seed(rng: random.Random, now: datetime) -> None:
    t0 = time.perf_counter()
    sync_categories()
    # Procuratorates ------------------------------------------------------------------------
    orgs = [{"id": 1, "code": "100000", "name": "最高人民检察院", "level": 1, "parent_id": None}]
    provinces, cities, grassroots = [], [], []
    next_id = 2
    for p in range(32):
        pid = next_id
        next_id += 1
        orgs.append({"id": pid, "code": f"{11 + p:02d}0000", "name": f"第{p + 1}省人民检察院", "level": 2,
                     "parent_id": 1})
        provinces.append(pid)
        for c in range(12):
            cid = next_id
            next_id += 1
            orgs.append({"id": cid, "code": f"{11 + p:02d}{c + 1:02d}00", "name": f"第{p + 1}省第{c + 1}市人民检察院",
                         "level": 3, "parent_id": pid})
            cities.append((cid, pid))
    k = 0
    while next_id <= 3000:
        cid, pid = cities[k % len(cities)]
        n = k // len(cities) + 1
        code = orgs[cid - 1]["code"][:4] + f"{n:02d}"
        orgs.append({"id": next_id, "code": code, "name": f"{orgs[cid - 1]['name'][:-5]}第{n}区人民检察院",
                     "level": 4, "parent_id": cid})
        grassroots.append((next_id, cid, pid))
        next_id += 1
        k += 1
    bulk(Procuratorate, orgs)
    # Users -------------------------------------------------------------------------------------
    from qa.services.accounts import password_hasher

    hashed = password_hasher().hash(PASSWORD)
    users, roles, profiles = [], [], []
    experts_at: dict[int, list[int]] = {}

    def add_user(org_id: int, role: str | None, name: str) -> int:
        uid = len(users) + 1
        last = now - timedelta(days=rng.expovariate(1 / 40)) if rng.random() < 0.9 else None
        users.append({"id": uid, "username": f"u{uid:05d}", "name": name, "org_id": org_id,
                      "password_hash": hashed if role == "admin" else None,
                      "active": role == "admin" or rng.random() > 0.02,
                      "session_version": 1, "created_at": now - timedelta(days=800), "last_login_at": last})
        if role:
            roles.append({"user_id": uid, "role": role})
        if role == "expert":
            experts_at.setdefault(org_id, []).append(uid)
            if rng.random() < 0.35:
                profiles.append({"user_id": uid, "capacity": rng.randint(6, 15), "note": "",
                                 "updated_at": now})
        return uid

    add_user(1, "admin", "全国管理员")
    for pid in provinces:
        add_user(pid, "admin", "省院管理员")
        for _ in range(2):
            add_user(pid, "moderator", "评查员")
        for _ in range(8):
            add_user(pid, "expert", "省院专家")
    for _ in range(20):
        add_user(1, "expert", "最高检专家")
    for cid, _pid in cities:
        add_user(cid, "expert", "市院专家")
    moderators = [r["user_id"] for r in roles if r["role"] == "moderator"]
    askers_at: dict[int, list[int]] = {}
    while len(users) < 5000:
        gid, _cid, _pid = rng.choice(grassroots)
        askers_at.setdefault(gid, []).append(add_user(gid, None, "干警"))
    bulk(User, users)
    bulk(UserRole, roles)
    bulk(ExpertProfile, profiles)
    db.session.commit()
    print(f"  orgs {len(orgs)}, users {len(users)} ({sum(len(v) for v in experts_at.values())} experts)"
          f" in {time.perf_counter() - t0:.1f} s", flush=True)
    # Questions, assignments, answers, ratings, canonical answers, audit events -----------------------
    start = datetime(2025, 1, 1, tzinfo=CHINA).astimezone(UTC)
    span = (now - timedelta(hours=1) - start).total_seconds()
    lines, weights = zip(*LINES, strict=True)
    asker_orgs = [g for g in grassroots if g[0] in askers_at]
    questions, assignments, answers, ratings, canon, events = [], [], [], [], [], []
    seqs: dict[tuple[int, int], int] = {}
    answer_id = 0
    for qid in range(1, 200_001):
        gid, cid, pid = rng.choice(asker_orgs)
        asker = rng.choice(askers_at[gid])
        created = start + timedelta(seconds=rng.random() * span)
        year = created.astimezone(CHINA).year
        seqs[(gid, year)] = seq = seqs.get((gid, year), 0) + 1
        roll = rng.random()
        pool = cid if roll < 0.7 else (pid if roll < 0.95 else 1)
        expert = rng.choice(experts_at[pool])
        due = created + timedelta(days=10)
        age_days = (now - created).total_seconds() / 86400
        answered_at = None
        if rng.random() < (0.93 if age_days > 10 else 0.6 * min(age_days / 10, 1) + 0.05):
            hours = min(rng.lognormvariate(math.log(60), 0.9), 24 * 30)
            answered_at = created + timedelta(hours=hours)
            if answered_at >= now:
                answered_at = None
        r = rng.random()
        if answered_at is not None:
            status = "resolved" if r < 0.45 else "answered"
        else:
            status = "closed" if r < 0.05 else ("pending" if r < 0.1 else "assigned")
        category = rng.choices(lines, weights)[0]
        body = sentence(rng, rng.randint(200, 400))
        q = {"id": qid, "number": f"JD{year}-{orgs[gid - 1]['code']}-{seq:05d}", "org_id": gid, "year": year,
             "seq": seq, "asker_id": asker, "category_code": category, "title": sentence(rng, 24)[:60],
             "body_md": body, "body_html": f"<p>{body}</p>", "status": status,
             "due_at": due if status != "pending" else None, "created_at": created, "updated_at": created,
             "answered_at": answered_at, "accepted_answer_id": None}
        if status != "pending":
            assignments.append({"question_id": qid, "expert_id": expert, "org_id": pool, "is_lead": True,
                                 "active": status in ("assigned", "answered"), "assigned_at": created,
                                 "due_at": due, "ended_at": None})
        events.append({"at": created, "actor_id": asker, "actor_roles": "asker", "actor_org_id": gid,
                       "action": "question.created", "object_type": "question", "object_id": str(qid),
                       "question_id": qid, "question_number": q["number"], "detail": {}})
        if rng.random() < 0.04:
            events.append({"at": due + timedelta(hours=1), "actor_id": None, "actor_roles": "system",
                           "action": "question.escalated", "object_type": "escalation", "object_id": str(qid),
                           "question_id": qid, "question_number": q["number"], "detail": {"kind": "overdue"}})
        if answered_at is not None:
            n_answers = 1 + (rng.random() < 0.7) + (rng.random() < 0.45)
            first = None
            for i in range(n_answers):
                answer_id += 1
                at = answered_at + timedelta(hours=30 * i)
                text_ = sentence(rng, rng.randint(80, 200))
                answers.append({"id": answer_id, "question_id": qid, "author_id": expert, "author_org_id": pool,
                                "body_md": text_, "body_html": f"<p>{text_}</p>", "created_at": at, "updated_at": at})
                first = first or answer_id
            if status == "resolved":
                q["accepted_answer_id"] = first
            if rng.random() < 0.25 and answered_at + timedelta(days=2) < now:
                s = [max(1, min(5, round(rng.gauss(3.9, 0.8)))) for _ in range(4)]
                ratings.append({"answer_id": first, "rater_id": rng.choice(moderators), "accuracy": s[0],
                                "basis": s[1], "relevance": s[2], "clarity": s[3], "comment": "评语",
                                "created_at": answered_at + timedelta(days=2)})
            if rng.random() < 0.02 and answered_at + timedelta(days=5) < now:
                canon.append({"answer_id": first, "question_id": qid, "text_md": "权威答复", "text_html": "<p>权威答复</p>",
                              "status": "in_force", "curated_by_id": 1, "created_at": answered_at + timedelta(days=5)})
        questions.append(q)
    for _ in range(60_000):
        uid = rng.randint(1, len(users))
        events.append({"at": start + timedelta(seconds=rng.random() * span), "actor_id": uid, "actor_roles": "asker",
                       "actor_org_id": users[uid - 1]["org_id"], "action": "user.login", "object_type": "user",
                       "object_id": str(uid), "detail": {}})
    print(f"  generated in {time.perf_counter() - t0:.1f} s: questions {len(questions)}, answers {len(answers)}, "
          f"ratings {len(ratings)}, canonical {len(canon)}, audit events {len(events)}", flush=True)
    for model, rows in ((Question, questions), (Assignment, assignments), (Answer, answers), (Rating, ratings),
                        (CanonicalAnswer, canon)):
        bulk(model, rows)
        db.session.commit()
        print(f"  {model.__tablename__}: {len(rows)} rows, {time.perf_counter() - t0:.1f} s", flush=True)
    events.sort(key=lambda e: e["at"])
    bulk(AuditEvent, events)
    db.session.commit()
    print(f"  audit_event: {len(events)} rows, {time.perf_counter() - t0:.1f} s", flush=True)
    # Statistics and visibility maps as autovacuum would leave them; SQLite: fold the WAL back in.
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    print(f"seeded in {time.perf_counter() - t0:.1f} s", flush=True)


def timed(fn, runs: int) -> tuple[float, float]:
    """(median, max) milliseconds over `runs` calls after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite:////tmp/stats_bench.db")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    config = {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": args.db, "WTF_CSRF_ENABLED": False,
              "QA_ARGON2_TIME_COST": 1, "QA_ARGON2_MEMORY_COST": 1024, "QA_ARGON2_PARALLELISM": 1,
              "QA_SEARCH_WRITER": "worker"}
    postgres = args.db.startswith("postgresql")
    if postgres:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={SCHEMA}"}}
    elif not args.reuse:
        Path(args.db.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app(config)
    now = utcnow()
    with app.app_context():
        seeded = False
        if postgres and not args.reuse:
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        if not args.reuse:
            db.create_all()
            print(f"seeding {args.db} …", flush=True)
            seed(random.Random(args.seed), now)
            seeded = True
        counts = {m.__tablename__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
                  for m in (Procuratorate, User, Question, Answer, Rating, AuditEvent)}
        print(("seeded: " if seeded else "reused: ") + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        spp_admin = db.session.get(User, 1)
        province = db.session.execute(select(Procuratorate).filter_by(code="150000")).scalar_one()
        province_admin = db.session.execute(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .where(User.org_id == province.id, UserRole.role == "admin", User.active.is_(True))).scalars().first()
        print(f"\n{db.engine.dialect.name}: uncached computation, median / max of {args.runs} runs (ms); "
              f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        print(f"{'scope':<16}{'period':<10}{'asked':>8}  {'dashboard':>18}  {'API figures':>18}")
        for label, user, org in (("whole platform", spp_admin, spp_admin.org), (province.name[:6], province_admin,
                                                                                   province)):
            for kind in ("month", "quarter", "year"):
                period = stats.make_period(kind)
                asked = stats.figures(user, org, period, now=now)["asked"]
                dash = timed(lambda u=user, o=org, p=period: stats.dashboard(u, o, p, now=utcnow()), args.runs)
                figs = timed(lambda u=user, o=org, p=period: stats.figures(u, o, p, now=utcnow()), args.runs)
                db.session.rollback()
                print(f"{label:<16}{kind:<10}{asked:>8}  {dash[0]:>8.0f} / {dash[1]:>6.0f}  {figs[0]:>8.0f} / {figs[1]:>6.0f}")
        from qa.services.accounts import create_api_token

        logins = [(label, user.username, create_api_token(user, user, f"bench-{time.time_ns()}")[1])
                  for label, user in (("whole platform", spp_admin), (province.name[:6], province_admin))]
        year = stats.make_period("year")
        db.session.remove()
    # Through Flask, outside any app context (each request gets its own, as in production).
    print(f"\nthrough Flask (this year), median / max of {args.runs} runs (ms)")
    api_url = f"/api/v1/stats?from={year.start.isoformat()}&to={year.end.isoformat()}"
    for label, username, raw in logins:
        client = app.test_client()
        login = client.post("/login", data={"username": username, "password": PASSWORD})
        assert login.status_code == 302 and "/login" not in login.headers["Location"], login.status_code

        def page(fresh: bool, client=client):
            response = client.get("/stats/?period=year" + ("&fresh=1" if fresh else ""))
            assert response.status_code == 200, response.status_code

        def api(fresh: bool, client=client, headers={"Authorization": f"Bearer {raw}"}):  # noqa: B006
            response = client.get(api_url + ("&fresh=1" if fresh else ""), headers=headers)
            assert response.status_code == 200, response.status_code

        for name, fn in (("page, uncached", lambda: page(True)), ("page, cached", lambda: page(False)),
                         ("API, uncached", lambda: api(True)), ("API, cached", lambda: api(False))):
            median, worst = timed(fn, args.runs)
            print(f"{label:<16}{name:<18}{median:>8.0f} / {worst:>6.0f}")
    with app.app_context():
        db.engine.dispose()

if __name__ == "__main__":
    main()

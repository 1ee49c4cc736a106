"""Benchmark: the deadline sweep over 100,000 open questions, and routing with 5,000 experts.

    .venv/bin/python bench/bench_deadlines.py                 # SQLite in a temporary directory
    .venv/bin/python bench/bench_deadlines.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Builds a national tree (SPP, 31 provinces, 310 cities, 1,550 grassroots procuratorates), 5,000
experts with 1–3 business lines each, and 100,000 open questions assigned to them with due dates
spread over the next ten days. Then it times:
- routing: find_expert() for questions from random grassroots procuratorates (median / p95);
- the first sweep (catch-up: every reminder whose window is open now),
- a steady-state sweep five minutes later (what cron does: the few crossings of those minutes,
  including overdue escalations), and an immediate re-run (idempotent: nothing to do).
Targets (issue 4): sweep < 10 s, routing < 20 ms.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, text  # noqa: E402

from qa import create_app  # noqa: E402
from qa.extensions import db  # noqa: E402
from qa.models import (  # noqa: E402
    Assignment,
    Category,
    DeadlineReminder,
    ExpertProfile,
    ExpertSpeciality,
    Notification,
    Procuratorate,
    Question,
    User,
    UserRole,
)
from qa.services.deadlines import sweep  # noqa: E402
from qa.services.routing import find_expert  # noqa: E402
from qa.services.setup import sync_categories  # noqa: E402
from qa.timeutil import utcnow  # noqa: E402

LINES = ["criminal", "civil", "administrative", "public_interest", "juvenile", "enforcement", "petition",
         "investigation", "case_management", "general"]


def build(n_questions: int, n_experts: int, rng: random.Random) -> dict:
    sync_categories()
    orgs = [{"id": 1, "code": "100000", "name": "最高人民检察院", "level": 1, "parent_id": None}]
    provinces, cities, grassroots = [], [], []
    next_id = 2
    for p in range(31):
        prov = {"id": next_id, "code": f"{11 + p:02d}0000", "name": f"省级院{p}", "level": 2, "parent_id": 1}
        orgs.append(prov)
        provinces.append(prov["id"])
        next_id += 1
        for c in range(10):
            city = {"id": next_id, "code": f"{11 + p:02d}{c + 1:02d}00", "name": f"市级院{p}-{c}", "level": 3,
                    "parent_id": prov["id"]}
            orgs.append(city)
            cities.append(city["id"])
            next_id += 1
            for g in range(5):
                orgs.append({"id": next_id, "code": f"{11 + p:02d}{c + 1:02d}{g + 1:02d}", "name": f"基层院{p}-{c}-{g}",
                             "level": 4, "parent_id": city["id"]})
                grassroots.append(next_id)
                next_id += 1
    db.session.execute(insert(Procuratorate), orgs)
    # Experts: 200 at the SPP, 40 per province, the rest spread over the cities.
    expert_orgs = [1] * 200 + [p for p in provinces for _ in range(40)]
    expert_orgs += [cities[i % len(cities)] for i in range(n_experts - len(expert_orgs))]
    users, roles, specs = [], [], []
    for i, org_id in enumerate(expert_orgs, start=1):
        users.append({"id": i, "username": f"expert{i}", "name": f"专家{i}", "org_id": org_id, "active": True,
                      "session_version": 1, "created_at": utcnow()})
        roles.append({"user_id": i, "role": "expert"})
        for line in rng.sample(LINES, rng.randint(1, 3)):
            specs.append({"user_id": i, "category_code": line})
    askers = []
    for j, org_id in enumerate(grassroots[:300], start=len(users) + 1):
        askers.append(j)
        users.append({"id": j, "username": f"asker{j}", "name": f"提问人{j}", "org_id": org_id, "active": True,
                      "session_version": 1, "created_at": utcnow()})
    db.session.execute(insert(User), users)
    db.session.execute(insert(UserRole), roles)
    db.session.execute(insert(ExpertSpeciality), specs)
    # 100,000 open questions over 5,000 experts is 20 each: give them room (the default is 10).
    db.session.execute(insert(ExpertProfile), [{"user_id": i, "capacity": 30, "note": "", "updated_at": utcnow()}
                                               for i in range(1, len(expert_orgs) + 1)])
    now = utcnow()
    user_org = {u["id"]: u["org_id"] for u in users}
    for start in range(0, n_questions, 10_000):
        questions, assignments = [], []
        for k in range(start, min(start + 10_000, n_questions)):
            asker = askers[k % len(askers)]
            expert = 1 + rng.randrange(len(expert_orgs))
            due = now + timedelta(minutes=1) + timedelta(seconds=rng.uniform(0, 10 * 86400))
            questions.append({"id": k + 1, "number": f"JD2026-B-{k + 1:06d}", "org_id": user_org[asker], "year": 2026,
                              "seq": k + 1, "asker_id": asker, "category_code": rng.choice(LINES),
                              "title": f"基准问题{k + 1}", "body_md": "x", "body_html": "<p>x</p>", "status": "assigned",
                              "due_at": due, "created_at": now, "updated_at": now})
            assignments.append({"question_id": k + 1, "expert_id": expert, "org_id": user_org[expert], "is_lead": True,
                                "active": True, "assigned_at": due - timedelta(days=10), "due_at": due})
        db.session.execute(insert(Question), questions)
        db.session.execute(insert(Assignment), assignments)
    db.session.commit()
    return {"now": now, "grassroots": grassroots}


def ms(values) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--experts", type=int, default=5_000)
    args = parser.parse_args()
    rng = random.Random(4)
    tmp = tempfile.mkdtemp(prefix="jd-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        started = time.perf_counter()
        data = build(args.questions, args.experts, rng)
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        print(f"database: {db.engine.dialect.name}; built {args.questions:,} open questions, {args.experts:,} experts, "
              f"{len(data['grassroots']):,} grassroots procuratorates in {time.perf_counter() - started:.1f} s")
        now = data["now"]

        categories = {c.code: c for c in db.session.execute(db.select(Category)).scalars()}
        origins = [db.session.get(Procuratorate, oid) for oid in rng.sample(data["grassroots"], 200)]
        times, found = [], 0
        for origin in origins:
            category = categories[rng.choice(LINES)]
            t0 = time.perf_counter()
            expert = find_expert(origin, category, exclude_ids=[0], now=now)
            times.append(time.perf_counter() - t0)
            found += expert is not None
        print(f"routing (find_expert, 200 questions from random grassroots procuratorates; {found} found): {ms(times)}")

        db.session.commit()
        for label, moment in [("first sweep (catch-up: all open reminder windows)", now),
                              ("steady sweep 5 minutes later (cron)", now + timedelta(minutes=5)),
                              ("re-run at the same moment (idempotent)", now + timedelta(minutes=5)),
                              ("sweep one hour later", now + timedelta(hours=1))]:
            t0 = time.perf_counter()
            report = sweep(moment)
            elapsed = time.perf_counter() - t0
            print(f"{label}: {elapsed:.2f} s — reminders {report.reminders:,}, overdue {report.overdue}, "
                  f"escalated {report.escalated}")
        counts = db.session.execute(db.select(func.count(DeadlineReminder.id))).scalar_one()
        notes = db.session.execute(db.select(func.count(Notification.id))).scalar_one()
        print(f"totals: {counts:,} reminder records, {notes:,} notifications")


if __name__ == "__main__":
    main()

"""Benchmark: `audit verify` over 1,000,000 audit rows, and the history page of a 200-revision thread.

    .venv/bin/python bench/audit_verify.py                 # SQLite in a temporary directory
    .venv/bin/python bench/audit_verify.py --rows 200000   # fewer rows
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/audit_verify.py

Prints the figures; the target is verify < 30 s for 1,000,000 rows on this machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from qa import create_app  # noqa: E402
from qa.extensions import db  # noqa: E402
from qa.models import AuditEvent  # noqa: E402
from qa.models.audit_chain import GENESIS, row_hash  # noqa: E402

ACTIONS = ["question.created", "question.assigned", "answer.posted", "answer.rated", "answer.accepted",
           "question.supplemented", "answer.edited"]


def make_app(url: str, index_dir: str):
    config = {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
              "QA_SEARCH_INDEX_DIR": index_dir,
              "QA_ARGON2_TIME_COST": 1, "QA_ARGON2_MEMORY_COST": 1024, "QA_ARGON2_PARALLELISM": 1}
    if url.startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": "-csearch_path=bench_audit"}}
    return create_app(config)


def fresh_schema(url: str) -> None:
    if url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_audit CASCADE"))
            conn.execute(text("CREATE SCHEMA bench_audit"))
    db.create_all()


def fill_audit(total: int, batch: int = 20_000) -> float:
    """Append `total` chained rows in batches (as the application would, minus the services)."""
    started = time.perf_counter()
    last_hash, at = GENESIS, datetime(2026, 1, 5, tzinfo=UTC)
    rid = 0
    while rid < total:
        rows = []
        for _ in range(min(batch, total - rid)):
            rid += 1
            at += timedelta(seconds=1)
            row = {"id": rid, "prev_hash": last_hash, "at": at, "actor_id": None, "actor_roles": "expert",
                   "actor_org_id": None, "action": ACTIONS[rid % len(ACTIONS)], "object_type": "answer",
                   "object_id": str(rid), "question_id": None, "question_number": f"JD2026-110105-{rid % 99999:05d}",
                   "detail": {"answer_id": rid, "reason": "依据《刑法》第一百三十三条之一修改表述", "scores": [4, 5, 4, 3]},
                   "ip": "10.1.2.3"}
            row["row_hash"] = last_hash = row_hash(row)
            rows.append(row)
        db.session.execute(insert(AuditEvent), rows)
        db.session.commit()
    return time.perf_counter() - started


def bench_verify(rows: int) -> None:
    from qa.services.auditlog import verify_chain

    print(f"filling {rows:,} audit rows …", flush=True)
    fill = fill_audit(rows)
    print(f"  filled in {fill:.1f} s ({rows / fill:,.0f} rows/s)")
    times, cpu = [], []
    for _ in range(2):
        db.session.rollback()
        started, started_cpu = time.perf_counter(), time.process_time()
        result = verify_chain()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert result.ok and result.count == rows, result
    best = min(times)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"audit verify over {rows:,} rows: {best:.1f} s wall best of {len(times)}, {min(cpu):.1f} s CPU "
          f"({rows / best:,.0f} rows/s; load average {load:.1f} on {os.cpu_count()} cores; "
          f"target < 30 s for 1,000,000) → {'OK' if best < 30 * rows / 1_000_000 else 'SLOW'}")


def bench_history(app, revisions: int = 200) -> None:
    from qa.services.answers import post_answer
    from qa.services.revisions import edit_answer, edit_question
    from qa.services.setup import sync_categories
    from tests.factories import PASSWORD, make_orgs, make_question, make_user

    sync_categories()
    make_orgs()
    asker = make_user("bench_asker", "110105", name="张检察官")
    expert = make_user("bench_expert", "110100", roles=["expert"], specialities=["criminal"], name="李专家")
    question = make_question(asker, body="血液酒精含量达到多少时构成**危险驾驶罪**？\n\n" + "案情说明。" * 40)
    answer = post_answer(expert, question, "依据《刑法》第一百三十三条之一。\n\n" + "醉酒驾驶机动车的，处拘役，并处罚金。\n" * 20)
    started = time.perf_counter()
    for i in range(revisions // 2):
        edit_question(asker, question, title=f"醉酒驾驶机动车的认定标准（第{i + 2}稿）",
                      body=question.body_md + f"\n补充第 {i + 1} 点：当事人血液酒精含量为 {80 + i}mg/100ml。",
                      reason=f"补充第 {i + 1} 点案情")
        lines = answer.body_md.split("\n")
        lines[2 + i % 18] = f"醉驾机动车的，处拘役，并处罚金（第 {i + 1} 次修订）。"
        edit_answer(expert, answer, body="\n".join(lines), reason=f"第 {i + 1} 次修订表述")
    print(f"{revisions} revisions written through the services in {time.perf_counter() - started:.1f} s")
    client = app.test_client()
    client.post("/login", data={"username": "bench_asker", "password": PASSWORD})
    url = f"/q/{question.number}/history"
    first = time.perf_counter()
    response = client.get(url)
    cold = time.perf_counter() - first
    assert response.status_code == 200 and response.get_data(as_text=True).count('data-testid="revision"') == revisions
    times = []
    for _ in range(5):
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        times.append(time.perf_counter() - started)
    size = len(response.get_data()) / 1024
    print(f"history page with {revisions} revisions ({size:,.0f} KiB): first {cold * 1000:.0f} ms (jieba load "
          f"included), then median {statistics.median(times) * 1000:.0f} ms, best {min(times) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--revisions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = os.environ.get("BENCH_DATABASE_URL")
        print(f"database: {base.split('@')[-1] if base else 'SQLite (temporary files)'}")
        for step, name in (("verify", "audit.db"), ("history", "history.db")):
            url = base or f"sqlite:///{Path(tmp) / name}"
            app = make_app(url, str(Path(tmp) / f"index-{step}"))
            with app.app_context():
                fresh_schema(url)
                if step == "verify":
                    bench_verify(args.rows)
                else:
                    bench_history(app, args.revisions)
                db.session.remove()
                if url.startswith("postgresql"):
                    with db.engine.begin() as conn:
                        conn.execute(text("DROP SCHEMA IF EXISTS bench_audit CASCADE"))
                db.engine.dispose()


if __name__ == "__main__":
    main()

"""Slow fault tests (RELIABILITY.md R01, R02, R04, R05, R09, R11): `make test-slow`, never `make test`.

The load tests run bench/load.py — real gunicorn workers, a real `flask search worker`, simulated
people posting through the API and the forms — and assert on what it found in the database.
The disk-full test puts the SQLite database on a tiny tmpfs and fills it.
"""
from __future__ import annotations

import errno
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from qa import create_app
from qa.extensions import db
from qa.services.accounts import create_api_token, get_user
from qa.services.setup import sync_categories
from tests.conftest import PG_URL, _base_config
from tests.factories import PASSWORD, make_orgs, make_user

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def run_harness(*argv: str, timeout: int = 240) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def figure(output: str, label: str) -> int:
    return int(re.search(rf"{label}\s+(\d+)", output).group(1))


def assert_nothing_lost(code: int, output: str) -> None:
    assert "lost: 0" in output, output
    assert figure(output, "writes acknowledged:") > 0, output
    assert figure(output, "writes found:") == figure(output, "writes acknowledged:"), output
    assert "duplicates (by marker):   0" in output, output
    assert "missing 0, extra 0, stale 0" in output, output
    assert code == 0, output


def test_short_load_loses_nothing_and_its_backup_restores():
    """R01, short (2 workers, 12 s): every acknowledged write is in the database with its audit row,
    no 5xx, no lock errors, and the index equals the database once the outbox drains.
    R11: a backup taken 5 s into the load restores into a fresh database; the counts match its
    manifest, the index rebuilds and equals the database, the audit log verifies to the manifest's head."""
    code, output = run_harness("--seconds", "12", "--workers", "2", "--readers", "1", "--backup-at", "5")
    assert_nothing_lost(code, output)
    assert "5xx responses:            0" in output
    assert "'database is locked':     0" in output
    assert "backup drill:             ok" in output, output


def test_kill_web_workers_and_indexer_mid_load():
    """R04 + R05: kill -9 a web worker every 5 s (2 workers, 16 s) and the index worker several times (restarted):
    nothing acknowledged is lost, the retries make no duplicates, and the index catches up."""
    code, output = run_harness("--seconds", "16", "--workers", "2", "--readers", "2",
                               "--kill-workers", "--kill-every", "5", "--kill-indexer")
    assert output.count("kill -9 web worker") >= 2, output
    assert output.count("kill -9 indexer") >= 1, output
    assert_nothing_lost(code, output)


def test_negative_control_deferred_transactions_are_caught():
    """R02(a): with SQLite writes begun DEFERRED the harness must report failure (lock errors, 5xx)."""
    code, output = run_harness("--seconds", "12", "--workers", "4", "--readers", "2",
                               "--wrong-settings", "deferred")
    assert code == 1, output
    assert figure(output, "'database is locked':") > 0 or figure(output, "5xx responses:") > 0, output


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: the PostgreSQL load run is skipped")
def test_postgres_short_load_with_kills_loses_nothing():
    code, output = run_harness("--seconds", "12", "--workers", "2", "--readers", "2", "--kill-workers",
                               "--kill-every", "4", "--kill-indexer", "--backup-at", "5",
                               "--database-url", PG_URL)
    assert "backup drill:             ok" in output, output
    assert_nothing_lost(code, output)


# R09: the database volume is full ---------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 MiB tmpfs for the database (needs root; skipped with the reason otherwise)."""
    if PG_URL:
        pytest.skip("disk full is tested on SQLite (the PostgreSQL server's volume is not ours to fill)")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the volume reports ENOSPC."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        try:
            while True:
                fh.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def test_database_disk_full(tiny_disk, tmp_path):
    config = _base_config(f"sqlite:///{tiny_disk / 'jianda.db'}")
    config["QA_SEARCH_INDEX_DIR"] = str(tmp_path / "search_index")
    app = create_app(config)
    ask = {"title": "醉酒驾驶机动车的认定标准是什么？", "body": "血液酒精含量达到多少时构成危险驾驶罪？",
           "category": "criminal", "law_not_facts": "y", "not_classified": "y"}
    with app.app_context():
        db.create_all()
        sync_categories()
        make_orgs()
        make_user("asker", "110105")
        make_user("city_expert", "110100", roles=["expert"], specialities=["criminal"])
        raw_token = create_api_token(None, get_user("asker"), "disk-full")[1]
        client = app.test_client()
        assert client.post("/login", data={"username": "asker", "password": PASSWORD}).status_code == 302
        first = client.post("/ask", data=ask)
        assert first.status_code == 302
        number = first.headers["Location"].rsplit("/q/", 1)[1]

        def counts():
            db.session.rollback()
            return [db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                    for t in ("question", "audit_event", "index_task", "assignment", "notification")]

        before = counts()
        db.session.rollback()
        raw = sqlite3.connect(tiny_disk / "jianda.db")
        busy, _log, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # the next write grows the WAL
        raw.close()
        assert busy == 0
        filler = fill(tiny_disk)

        refused = client.post("/ask", data=dict(ask, title="磁盘已满时提交的问题"))
        assert refused.status_code == 503
        page = refused.get_data(as_text=True)
        assert "未保存，请重试" in page and "Traceback" not in page
        api = client.post("/api/v1/questions", headers={"Authorization": f"Bearer {raw_token}"},
                          json={"title": "磁盘已满时经接口提交的问题", "body": "内容", "category": "criminal",
                                "declarations": {"law_not_facts": True, "not_classified": True}})
        assert api.status_code == 503
        assert api.get_json()["error"]["code"] == "database_unavailable"
        assert "未保存" in api.get_json()["error"]["message"]
        assert counts() == before  # no partial rows: nothing of either attempt was committed
        assert client.get(f"/q/{number}").status_code == 200  # reads keep working
        assert client.get("/questions").status_code == 200

        filler.unlink()
        again = client.post("/ask", data=dict(ask, title="空间释放后提交的问题"))
        assert again.status_code == 302
        assert counts()[0] == before[0] + 1
        assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        db.session.remove()
        db.engine.dispose()

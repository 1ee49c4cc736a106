"""`backup create` / `backup restore`: a round trip into a fresh database keeps every question,
answer and audit row (the hash chain still verifies); a database in use is never overwritten without --force."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from qa import create_app
from qa.extensions import db
from qa.services.answers import post_answer
from qa.services.auditlog import verify_chain
from tests.conftest import PG_URL
from tests.factories import make_question


def _fill(people) -> None:
    question = make_question(people["asker"])
    post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一，血液酒精含量达到 80mg/100ml 以上。")
    make_question(people["asker"], title="未成年人附条件不起诉的考验期如何计算？")


def _counts() -> dict[str, int]:
    return {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("question", "answer",
                                                                                          "audit_event")}


@pytest.fixture
def fresh_target(app_config, tmp_path):
    """The config of a second, empty database: a new SQLite file, or a new PostgreSQL database."""
    config = dict(app_config, QA_SEARCH_INDEX_DIR=str(tmp_path / "restored_index"))
    if not PG_URL:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'restored.db'}"
        yield config
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed: the PostgreSQL backup round trip cannot run")
    name = f"jianda_restore_{os.getpid()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    config["SQLALCHEMY_DATABASE_URI"] = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield config
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_restore_round_trip(app, people, runner, tmp_path, fresh_target):
    _fill(people)
    before = _counts()
    head = verify_chain()

    result = runner.invoke(args=["backup", "create", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    files = [p for p in (tmp_path / "backups").iterdir() if not p.name.endswith(".json")]
    assert len(files) == 1
    manifest = json.loads((files[0].parent / (files[0].name + ".json")).read_text(encoding="utf-8"))
    assert (manifest["questions"], manifest["answers"], manifest["audit_events"]) == \
        (before["question"], before["answer"], before["audit_event"])
    assert manifest["audit_head"] == f"{head.head_id}:{head.head_hash}"
    assert manifest["integrity"] == "ok"

    # The live database is in use: restoring over it is refused and changes nothing.
    refused = runner.invoke(args=["backup", "restore", str(files[0])])
    assert refused.exit_code != 0
    assert "已有数据" in refused.output and "--force" in refused.output
    assert _counts() == before

    # Into a fresh, empty database: everything comes back and the audit chain verifies to the same head.
    restored = create_app(fresh_target)
    with restored.app_context():
        done = restored.test_cli_runner().invoke(args=["backup", "restore", str(files[0])])
        assert done.exit_code == 0, done.output
        assert "与清单一致" in done.output and "search rebuild" in done.output
        assert _counts() == before
        check = verify_chain((head.head_id, head.head_hash))
        assert check.ok and check.head_id == head.head_id
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_damaged_or_missing_file(app, runner, tmp_path):
    missing = runner.invoke(args=["backup", "restore", str(tmp_path / "none.sqlite3")])
    assert missing.exit_code != 0
    if PG_URL:
        return
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    empty_before = db.session.execute(text("SELECT count(*) FROM question")).scalar()
    result = runner.invoke(args=["backup", "restore", str(bad)])
    assert result.exit_code != 0
    assert "未做任何更改" in result.output or "损坏" in result.output or "失败" in result.output
    assert db.session.execute(text("SELECT count(*) FROM question")).scalar() == empty_before

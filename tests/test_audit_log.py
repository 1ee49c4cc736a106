"""The audit log is append-only and hash-chained: the database refuses rewrites, verify finds them."""
from __future__ import annotations

import csv
import io
import threading
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qa.extensions import db
from qa.models import AuditEvent
from qa.models.audit_chain import GENESIS, row_hash
from qa.services.answers import post_answer
from qa.services.auditlog import AuditFilters, audit_query, verify_chain
from qa.services.questions import add_supplement
from tests.factories import make_question


@pytest.fixture
def logged(people):
    question = make_question(people["asker"])
    post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一。")
    add_supplement(people["asker"], question, "补充：血液酒精含量为 85mg/100ml。")
    return question


def rows():
    return db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()


def tamper(*statements):
    """What an attacker with database access does: switch the triggers off, then rewrite rows."""
    db.session.rollback()
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        for sql, params in statements:
            conn.execute(text(sql), params)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def test_every_row_links_to_the_one_before_and_verify_passes(logged, runner):
    events = rows()
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.row_hash
        assert after.id == before.id + 1
    result = verify_chain()
    assert result.ok and result.count == len(events) and result.head_hash == events[-1].row_hash
    out = runner.invoke(args=["audit", "verify"])
    assert out.exit_code == 0, out.output
    assert f"共 {len(events)} 条" in out.output and f"{events[-1].id}:{events[-1].row_hash}" in out.output


@pytest.mark.parametrize("sql", ["UPDATE audit_event SET action = 'x' WHERE id = 1", "DELETE FROM audit_event WHERE id = 1"])
def test_the_database_refuses_update_and_delete(logged, sql):
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(sql))
    db.session.rollback()
    assert verify_chain().ok


def test_postgresql_refuses_truncate_of_the_log(logged):
    """TRUNCATE fires no row triggers; a statement trigger refuses it, also when cascaded from a table the log refers to."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE trigger refuses emptying the table)")
    count = len(rows())
    for sql in ("TRUNCATE audit_event", "TRUNCATE question CASCADE"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    assert len(rows()) == count and verify_chain().ok


def test_verify_names_an_edited_row(logged, runner):
    target = rows()[3].id
    tamper(("UPDATE audit_event SET ip = '10.0.0.66' WHERE id = :id", {"id": target}))
    result = verify_chain()
    assert (result.broken_id, result.ok) == (target, False)
    assert "修改" in result.reason
    out = runner.invoke(args=["audit", "verify"])
    assert out.exit_code == 1 and f"第 {target} 条" in out.output


def test_verify_names_the_row_after_a_deleted_one(logged):
    target = rows()[3].id
    tamper(("DELETE FROM audit_event WHERE id = :id", {"id": target}))
    result = verify_chain()
    assert result.broken_id == target + 1 and "缺失" in result.reason


def test_verify_names_an_inserted_row(logged):
    last = rows()[-1]
    last_id, last_hash, at = last.id, last.row_hash, last.at
    tamper(("INSERT INTO audit_event (id, at, actor_roles, action, object_type, object_id, detail, prev_hash, "
            "row_hash) VALUES (:id, :at, 'system', 'answer.accepted', 'answer', '1', '{}', :prev, :hash)",
            {"id": last_id + 1, "at": at.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else at,
             "prev": last_hash, "hash": "f" * 64}))
    result = verify_chain()
    assert result.broken_id == last_id + 1 and "修改" in result.reason


def test_verify_catches_a_row_slipped_into_the_middle(logged):
    """Renumber the tail, insert a correctly hashed row, relink the next one: the relinked row breaks."""
    events = rows()
    k = events[3].id
    before = events[2]
    before_hash, before_at = before.row_hash, before.at
    forged = {"id": k, "prev_hash": before_hash, "at": before_at, "actor_id": None, "actor_roles": "system",
              "actor_org_id": None, "action": "answer.accepted", "object_type": "answer", "object_id": "1",
              "question_id": None, "question_number": None, "detail": {}, "ip": None}
    forged_hash = row_hash(forged)
    tamper(
        ("UPDATE audit_event SET id = -id WHERE id >= :k", {"k": k}),
        ("UPDATE audit_event SET id = 1 - id WHERE id < 0", {}),
        ("UPDATE audit_event SET prev_hash = :h WHERE id = :next", {"h": forged_hash, "next": k + 1}),
        ("INSERT INTO audit_event (id, at, actor_roles, action, object_type, object_id, detail, prev_hash, row_hash) "
         "VALUES (:id, :at, 'system', 'answer.accepted', 'answer', '1', '{}', :prev, :hash)",
         {"id": k, "at": before_at.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else before_at,
          "prev": before_hash, "hash": forged_hash}),
    )
    result = verify_chain()
    assert result.broken_id == k + 1 and "修改" in result.reason


def test_an_anchor_catches_a_truncated_tail(logged):
    last = rows()[-1]
    last_id, last_hash = last.id, last.row_hash
    tamper(("DELETE FROM audit_event WHERE id = :id", {"id": last_id}))
    assert verify_chain().ok  # the tail alone cannot tell
    result = verify_chain(anchor=(last_id, last_hash))
    assert not result.ok and result.broken_id == last_id


def test_concurrent_writers_never_fork_the_chain(app, logged, people):
    """Two threads append through the services at the same time; the chain stays one line."""
    asker_id, number = people["asker"].id, logged.number
    errors = []

    def write(n):
        with app.app_context():
            try:
                from qa.models import User
                from qa.services.questions import get_question

                for i in range(6):
                    add_supplement(db.session.get(User, asker_id), get_question(number), f"线程 {n} 的第 {i} 次补充。")
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.rollback()  # a fresh snapshot: see what the threads committed
    result = verify_chain()
    assert result.ok
    assert db.session.execute(db.select(db.func.count()).where(AuditEvent.action == "question.supplemented")
                              ).scalar_one() == 13


def test_audit_viewer_filters_and_csv(logged, people, client, auth):
    admin = people["admin"]
    by_number = db.session.execute(audit_query(admin, AuditFilters(number=logged.number))).scalars().all()
    assert {e.action for e in by_number} >= {"question.created", "answer.posted", "question.supplemented"}
    by_person = db.session.execute(audit_query(admin, AuditFilters(person="city_expert"))).scalars().all()
    assert {e.action for e in by_person} == {"answer.posted"}
    today = date.today()
    by_action = db.session.execute(audit_query(admin, AuditFilters(action="answer.posted", date_from=today,
                                                                   date_to=today))).scalars().all()
    assert len(by_action) in (0, 1)  # the China date may differ from the host's near midnight
    auth.login("admin")
    page = client.get(f"/admin/audit?number={logged.number}")
    assert page.status_code == 200 and "答复" in page.get_data(as_text=True)
    export = client.get(f"/admin/audit.csv?number={logged.number}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    raw = export.get_data()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][0] == "序号" and len(table) == len(by_number) + 1
    auth.logout()
    auth.login("moderator")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403

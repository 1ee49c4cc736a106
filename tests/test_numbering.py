"""The number for life: its format, one gap-free sequence per procuratorate and year, under concurrency."""
from __future__ import annotations

import re
import threading
from collections import defaultdict
from contextlib import contextmanager

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from qa.errors import ValidationError
from qa.extensions import begin_write, db
from qa.models import AuditEvent, Procuratorate, Question, QuestionCounter, Tag, User, question_tag
from qa.services.questions import ask_question, get_question, next_sequence
from qa.timeutil import CHINA
from tests.factories import make_question, make_user

NUMBER = re.compile(r"^JD(\d{4})-(\d{6})-(\d{5})$")


def counter_value(org_code: str, year: int) -> int | None:
    """The last sequence number used by a procuratorate in a year (None: nothing asked yet)."""
    return db.session.execute(
        db.select(QuestionCounter.last_seq)
        .join(Procuratorate, Procuratorate.id == QuestionCounter.org_id)
        .where(Procuratorate.code == org_code, QuestionCounter.year == year)
    ).scalar_one_or_none()


def question_count() -> int:
    return db.session.execute(db.select(func.count(Question.id))).scalar_one()


def test_number_format_uses_china_year_org_code_and_five_digit_sequence(people):
    question = make_question(people["asker"])

    match = NUMBER.match(question.number)
    assert match, question.number
    year, code, seq = match.groups()
    # The year is the China-time year of the moment the question was posted.
    assert int(year) == question.year == question.created_at.astimezone(CHINA).year
    assert code == "110105" == people["asker"].org.code
    assert seq == "00001" and question.seq == 1
    # The number resolves to the question for life.
    assert get_question(question.number).id == question.id


def test_sequence_is_per_originating_procuratorate(people, orgs):
    other_asker = make_user("haidian", "110108")
    a1 = make_question(people["asker"])
    b1 = make_question(other_asker)
    a2 = make_question(people["asker"])
    b2 = make_question(other_asker)
    a3 = make_question(people["asker"])

    assert [q.number.split("-", 1)[1] for q in (a1, a2, a3)] == ["110105-00001", "110105-00002", "110105-00003"]
    assert [q.number.split("-", 1)[1] for q in (b1, b2)] == ["110108-00001", "110108-00002"]
    # Numbering follows the asker's procuratorate, not the expert's who answers.
    assert a1.assignee.org.code == "110100"
    assert counter_value("110105", a1.year) == 3
    assert counter_value("110108", b1.year) == 2


def test_sequence_is_per_year(people, orgs):
    """Last year's counter does not continue into this year: each year starts again at 00001."""
    asker = people["asker"]
    question_year = make_question(asker).year
    db.session.add(QuestionCounter(org_id=orgs["110105"].id, year=question_year - 1, last_seq=57))
    db.session.commit()

    question = make_question(asker)

    assert question.number.endswith("-00002")
    assert counter_value("110105", question_year - 1) == 57


def test_validation_failure_consumes_no_number(people, orgs):
    asker = people["asker"]
    first = make_question(asker)
    with pytest.raises(ValidationError):
        make_question(asker, title="   ")
    with pytest.raises(ValidationError):
        ask_question(asker, title="标题", body="内容", category="criminal", law_not_facts=True)
    db.session.rollback()

    second = make_question(asker)

    assert second.seq == first.seq + 1
    assert counter_value("110105", first.year) == 2


def test_rolled_back_reservation_leaves_no_gap(people, orgs):
    asker = people["asker"]
    first = make_question(asker)
    begin_write()
    reserved = next_sequence(orgs["110105"].id, first.year)
    assert reserved == 2
    db.session.rollback()  # the transaction that reserved the number fails

    second = make_question(asker)

    assert second.seq == 2
    assert second.number.endswith("-00002")


@contextmanager
def failing_assignment():
    """A database trigger that makes the routing step of an ask fail inside its transaction."""
    if db.engine.dialect.name == "sqlite":
        create = [
            "CREATE TRIGGER jd_test_fail BEFORE INSERT ON audit_event "
            "WHEN NEW.action = 'question.assigned' BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS jd_test_fail"]
    else:
        create = [
            "CREATE FUNCTION jd_test_fail() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'simulated failure'; END $$",
            "CREATE TRIGGER jd_test_fail BEFORE INSERT ON audit_event FOR EACH ROW "
            "WHEN (NEW.action = 'question.assigned') EXECUTE FUNCTION jd_test_fail()",
        ]
        drop = ["DROP TRIGGER IF EXISTS jd_test_fail ON audit_event", "DROP FUNCTION IF EXISTS jd_test_fail()"]
    for statement in create:
        db.session.execute(text(statement))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        for statement in drop:
            db.session.execute(text(statement))
        db.session.commit()


def test_failure_inside_the_ask_transaction_leaves_no_gap(people, orgs):
    asker = people["asker"]
    first = make_question(asker)
    year = first.year

    # The number is reserved and the question inserted, then routing fails: all of it is undone.
    with failing_assignment(), pytest.raises(DBAPIError, match="simulated failure"):
        make_question(asker, title="这个提问在分派时失败")
    assert counter_value("110105", year) == 1
    assert question_count() == 1
    assert db.session.execute(
        db.select(func.count(AuditEvent.id)).where(AuditEvent.action == "question.created")
    ).scalar_one() == 1

    second = make_question(asker, title="失败后的下一个提问")

    assert second.seq == 2
    assert second.assignee is not None


def test_a_number_is_never_given_twice(people, orgs):
    """The database itself refuses a second question with an existing number."""
    asker = people["asker"]
    first = make_question(asker)
    db.session.add(Question(
        number=first.number, org_id=first.org_id, year=first.year, seq=99, asker_id=asker.id,
        category_code="criminal", title="重复编号", body_md="x", body_html="<p>x</p>", status="pending",
    ))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Question(
        number=first.number.replace("00001", "09999"), org_id=first.org_id, year=first.year, seq=first.seq,
        asker_id=asker.id, category_code="criminal", title="重复序号", body_md="x", body_html="<p>x</p>",
        status="pending",
    ))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert make_question(asker).seq == 2


# Concurrency ----------------------------------------------------------------------------

THREADS = 8
ASKS_PER_THREAD = 5


def test_concurrent_askers_get_distinct_gap_free_numbers(app, people, orgs):
    """8 threads post at once, each in its own app context and session; no duplicates, no gaps.

    They also all introduce the same new tag, which must not make any of them fail.
    """
    asker_ids = [people["asker"].id]
    for i in range(1, THREADS):
        code = "110105" if i % 2 == 0 else "110108"
        asker_ids.append(make_user(f"concurrent{i}", code).id)
    db.session.commit()
    db.session.close()  # nothing of the main thread stays open while the workers write

    barrier = threading.Barrier(THREADS)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(user_id: int, index: int) -> None:
        try:
            with app.app_context():
                try:
                    user = db.session.get(User, user_id)
                    db.session.commit()
                    barrier.wait(timeout=30)
                    for n in range(ASKS_PER_THREAD):
                        question = make_question(user, title=f"并发提问 {index}-{n}", tags=["醉驾", f"标签{n}"])
                        with lock:
                            numbers.append(question.number)
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported to the main thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(uid, i)) for i, uid in enumerate(asker_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    total = THREADS * ASKS_PER_THREAD
    assert len(numbers) == total
    assert len(set(numbers)) == total

    seqs_by_org: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        match = NUMBER.match(number)
        assert match, number
        seqs_by_org[match.group(2)].append(int(match.group(3)))
    assert set(seqs_by_org) == {"110105", "110108"}
    for code, seqs in seqs_by_org.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), code

    # The database agrees: every question saved with its audit trail, counters at the maximum.
    rows = db.session.execute(db.select(Question.number, Question.org_id, Question.year)).all()
    assert sorted(r.number for r in rows) == sorted(numbers)
    for code, seqs in seqs_by_org.items():
        assert counter_value(code, rows[0].year) == len(seqs)
    # Every question carries the shared new tag, created exactly once.
    shared = db.session.execute(db.select(Tag).filter_by(name="醉驾")).scalar_one()
    tagged = db.session.execute(
        db.select(func.count()).select_from(question_tag).where(question_tag.c.tag_id == shared.id)
    ).scalar_one()
    assert tagged == total
    created = db.session.execute(
        db.select(func.count(AuditEvent.id)).where(AuditEvent.action == "question.created")
    ).scalar_one()
    assert created == total

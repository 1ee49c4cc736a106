"""One effect per submission (RELIABILITY.md R03, S18): a double click, a resubmitted form or a client
retrying with the same key gets the first question or answer back, never a second one."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func

from qa.extensions import db
from qa.models import Answer, AuditEvent, Question, User
from qa.services.accounts import create_api_token
from tests.factories import make_question


def count(model) -> int:
    return db.session.execute(db.select(func.count()).select_from(model)).scalar_one()


def form_key(html: str) -> str:
    match = re.search(r'name="submission_key"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="submission_key"', html)
    assert match, "the form carries no one-time submission key"
    return match.group(1)


ASK = {"title": "醉驾案件中血液酒精含量临界值如何把握？", "body": "血液酒精含量恰为 80mg/100ml 时如何处理？",
       "category": "criminal", "law_not_facts": "y", "not_classified": "y"}


def test_the_ask_form_sent_twice_makes_one_question(people, client, auth):
    auth.login("asker")
    key = form_key(client.get("/ask").get_data(as_text=True))
    before, events = count(Question), count(AuditEvent)
    first = client.post("/ask", data={**ASK, "submission_key": key})
    second = client.post("/ask", data={**ASK, "submission_key": key})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]  # both land on the same number
    assert count(Question) == before + 1
    assert db.session.execute(db.select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "question.created")).scalar_one() == 1
    assert count(AuditEvent) > events
    # A new form is a new question.
    assert form_key(client.get("/ask").get_data(as_text=True)) != key


def test_the_answer_form_sent_twice_makes_one_answer(people, client, auth):
    question = make_question(people["asker"])
    auth.login("city_expert")
    key = form_key(client.get(f"/q/{question.number}").get_data(as_text=True))
    data = {"body": "依照《刑法》第一百三十三条之一处理。", "submission_key": key}
    first = client.post(f"/q/{question.number}/answers", data=data)
    second = client.post(f"/q/{question.number}/answers", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Answer) == 1


def test_api_retries_with_the_same_idempotency_key_get_the_first_result(people, client):
    headers = {"Authorization": f"Bearer {create_api_token(None, people['asker'], 'test')[1]}",
               "Idempotency-Key": "retry-0123456789abcdef"}
    body = {"title": ASK["title"], "body": ASK["body"], "category": "criminal",
            "declarations": {"law_not_facts": True, "not_classified": True}}
    first = client.post("/api/v1/questions", json=body, headers=headers)
    second = client.post("/api/v1/questions", json=body, headers=headers)
    assert first.status_code == second.status_code == 201, first.get_json()
    assert first.get_json()["number"] == second.get_json()["number"]
    assert count(Question) == 1
    bad = client.post("/api/v1/questions", json=body, headers={**headers, "Idempotency-Key": "短"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "Idempotency-Key"
    assert count(Question) == 1


def test_parallel_copies_of_one_submission_make_exactly_one_question(app, people):
    """Eight copies of the same post arrive at once (a client retrying through several workers)."""
    asker_id = people["asker"].id
    db.session.commit()
    db.session.close()
    barrier, numbers, errors, lock = threading.Barrier(8), [], [], threading.Lock()

    def worker() -> None:
        try:
            with app.app_context():
                try:
                    user = db.session.get(User, asker_id)
                    db.session.commit()
                    barrier.wait(timeout=30)
                    question = make_question(user, submission_key="parallel-0123456789abcdef")
                    with lock:
                        numbers.append(question.number)
                finally:
                    db.session.remove()
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(numbers) == 8
    assert len(set(numbers)) == 1
    assert count(Question) == 1
    assert numbers[0].endswith("-00001")  # the copies gave their numbers back: no gap


@pytest.mark.parametrize("key", ["", "short", "has space in it 123456", "x" * 65, "<script>alert(1)</script>"])
def test_a_malformed_key_is_refused_and_saves_nothing(key, people):
    from qa.errors import ValidationError

    with pytest.raises(ValidationError):
        make_question(people["asker"], submission_key=key)
    db.session.rollback()
    assert count(Question) == 0


def test_the_supplement_form_sent_twice_makes_one_supplement(people, client, auth):
    """A 补充说明 resent after a dropped connection (the load harness's kill -9 found this) is one."""
    from qa.models import Supplement

    question = make_question(people["asker"])
    auth.login("asker")
    page = client.get(f"/q/{question.number}").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/q/' + question.number + r'/supplements"[^>]*>(.*?)</form>', page, re.S)
    assert form, "the thread page has no supplement form"
    data = {"body": "案件已进入审查起诉阶段，补充如下。", "submission_key": form_key(form.group(1))}
    first = client.post(f"/q/{question.number}/supplements", data=data)
    second = client.post(f"/q/{question.number}/supplements", data=data)
    assert first.status_code == second.status_code == 302
    assert count(Supplement) == 1
    assert db.session.execute(db.select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "question.supplemented")).scalar_one() == 1
    data["submission_key"] = "another-key-0123456789"
    assert client.post(f"/q/{question.number}/supplements", data=data).status_code == 302
    assert count(Supplement) == 2  # a new form is a new supplement

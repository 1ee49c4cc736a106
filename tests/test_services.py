"""Use cases at service level: each bad input is refused with nothing half-saved; the happy path works."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func

from qa.errors import Conflict, PermissionDenied, ValidationError
from qa.extensions import db
from qa.models import (
    Answer,
    Assignment,
    AuditEvent,
    CanonicalAnswer,
    IndexTask,
    Notification,
    Question,
    QuestionCounter,
    Rating,
)
from qa.services.accounts import update_user
from qa.services.answers import mark_canonical, post_answer, rate_answer
from qa.services.questions import accept_answer, ask_question, assign_manually
from qa.timeutil import china_today
from tests.factories import make_question, make_user

COUNTED = (Question, Answer, Rating, AuditEvent, QuestionCounter, Assignment, Notification, IndexTask,
           CanonicalAnswer)
GOOD_SCORES = {"accuracy": 4, "basis": 4, "relevance": 5, "clarity": 3}
ANSWER_BODY = "依照《刑法》第一百三十三条之一，血液酒精含量达到 80mg/100ml 以上的，属于醉酒驾驶。"


def snapshot() -> dict[str, int]:
    """Row counts of everything a use case writes, plus the numbers handed out so far."""
    counts = {m.__name__: db.session.execute(db.select(func.count()).select_from(m)).scalar_one() for m in COUNTED}
    counts["numbers_used"] = db.session.execute(
        db.select(func.coalesce(func.sum(QuestionCounter.last_seq), 0))
    ).scalar_one()
    return counts


def assert_refused(call, error: type[Exception], field: str | None = None, label: str = ""):
    """`call` raises `error` (with `field`), leaves nothing pending in the session and nothing in the DB."""
    db.session.commit()
    before = snapshot()
    with pytest.raises(error) as caught:
        call()
    if field is not None:
        assert caught.value.field == field, label
    assert not db.session.new and not db.session.deleted, label
    assert not [obj for obj in db.session.dirty if db.session.is_modified(obj)], label
    db.session.rollback()
    assert snapshot() == before, label
    return caught.value


def ask(asker, **overrides):
    fields = {"title": "醉驾的认定标准", "body": "血液酒精含量达到多少构成危险驾驶罪？", "category": "criminal",
              "law_not_facts": True, "not_classified": True}
    fields.update(overrides)
    return lambda: ask_question(asker, **fields)


def answer_by(people, expert, question, body: str = ANSWER_BODY) -> Answer:
    """An admin assigns the question to `expert`, who then answers it."""
    assign_manually(people["admin"], question, expert.username)
    return post_answer(expert, question, body)


@pytest.fixture
def answered(people):
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, ANSWER_BODY)
    return question, answer


# Asking ---------------------------------------------------------------------------------------

ASK_CASES = [
    ("empty title", {"title": ""}, "title"),
    ("blank title", {"title": "  \n "}, "title"),
    ("title over 120", {"title": "题" * 121}, "title"),
    ("title missing", {"title": None}, "title"),
    ("title not text", {"title": 123}, "title"),
    ("empty body", {"body": ""}, "body"),
    ("body over 20000", {"body": "问" * 20_001}, "body"),
    ("body not text", {"body": ["问题"]}, "body"),
    ("unknown category", {"category": "tax"}, "category"),
    ("category missing", {"category": None}, "category"),
    ("category not text", {"category": 7}, "category"),
    ("law-not-facts declaration missing", {"law_not_facts": False}, "law_not_facts"),
    ("law-not-facts declaration not a yes", {"law_not_facts": "false"}, "law_not_facts"),
    ("not-classified declaration missing", {"not_classified": False}, "not_classified"),
    ("not-classified declaration not a yes", {"not_classified": 1}, "not_classified"),
    ("case deadline yesterday", {"case_deadline": None}, "case_deadline"),  # filled in below
    ("case deadline not a date", {"case_deadline": "2030-01-01"}, "case_deadline"),
    ("too many tags", {"tags": "一,二,三,四,五,六"}, "tags"),
    ("over-long tag", {"tags": ["标" * 21]}, "tags"),
]


def test_bad_questions_are_refused_with_nothing_saved(people):
    make_question(people["asker"])  # the counter row exists: its value must not move either
    for label, overrides, field in ASK_CASES:
        if label == "case deadline yesterday":
            overrides = {"case_deadline": china_today() - timedelta(days=1)}
        assert_refused(ask(people["asker"], **overrides), ValidationError, field, label)


def test_limits_are_inclusive(people):
    question = ask(people["asker"], title="题" * 120, body="问" * 20_000, case_deadline=china_today())()
    assert len(question.title) == 120 and len(question.body_md) == 20_000
    assert question.case_deadline == china_today()


def test_deactivated_user_cannot_ask(people):
    update_user(people["admin"], people["asker"], active=False)
    assert_refused(ask(people["asker"]), PermissionDenied)


# Answering ------------------------------------------------------------------------------------


def test_bad_answers_are_refused_with_nothing_saved(people):
    question = make_question(people["asker"])
    expert = people["city_expert"]
    assert_refused(lambda: post_answer(expert, question, ""), ValidationError, "body", "empty")
    assert_refused(lambda: post_answer(expert, question, "答" * 20_001), ValidationError, "body", "too long")
    assert_refused(lambda: post_answer(expert, question, {"body": "答"}), ValidationError, "body", "not text")
    assert question.status == "assigned"


def test_only_the_assigned_expert_answers(people):
    question = make_question(people["asker"])
    assert question.assignee.username == "city_expert"
    assert_refused(lambda: post_answer(people["prov_expert"], question, ANSWER_BODY), PermissionDenied)
    assert_refused(lambda: post_answer(people["asker"], question, ANSWER_BODY), PermissionDenied)
    update_user(people["admin"], people["city_expert"], active=False)
    assert_refused(lambda: post_answer(people["city_expert"], question, ANSWER_BODY), PermissionDenied)


def test_resolved_question_takes_no_more_answers(people, answered):
    question, answer = answered
    accept_answer(people["asker"], question, answer.id)
    assert_refused(lambda: post_answer(people["city_expert"], question, "补充答复"), PermissionDenied)


# Accepting ------------------------------------------------------------------------------------


def test_only_the_asker_accepts(people, answered):
    question, answer = answered
    other = make_user("haidian", "110108")
    assert_refused(lambda: accept_answer(other, question, answer.id), PermissionDenied, label="another asker")
    assert_refused(lambda: accept_answer(people["city_expert"], question, answer.id), PermissionDenied,
                   label="the expert")
    assert question.status == "answered" and question.accepted_answer_id is None


def test_accepting_an_answer_of_another_question_is_refused(people, answered):
    question, _ = answered
    other_question = make_question(people["asker"], title="另一个问题")
    other_answer = post_answer(people["city_expert"], other_question, ANSWER_BODY)
    assert_refused(lambda: accept_answer(people["asker"], question, other_answer.id), ValidationError, "answer_id")
    assert_refused(lambda: accept_answer(people["asker"], question, str(other_answer.id)), ValidationError,
                   "answer_id")


def test_accepting_twice_is_a_conflict(people, answered):
    question, answer = answered
    accept_answer(people["asker"], question, answer.id)
    assert_refused(lambda: accept_answer(people["asker"], question, answer.id), Conflict)


# Rating ---------------------------------------------------------------------------------------


def test_scores_outside_one_to_five_are_refused(people, answered):
    _, answer = answered
    moderator = people["moderator"]
    for bad in (0, 6, -1, "x", "", True, False, None, 2.5, "3.0"):
        for criterion in GOOD_SCORES:
            scores = dict(GOOD_SCORES, **{criterion: bad})
            assert_refused(lambda s=scores: rate_answer(moderator, answer, s, comment="评语"), ValidationError,
                           criterion, f"{criterion}={bad!r}")
    missing = {k: v for k, v in GOOD_SCORES.items() if k != "basis"}
    assert_refused(lambda: rate_answer(moderator, answer, missing), ValidationError, "basis")


def test_low_score_needs_a_comment(people, answered):
    _, answer = answered
    low = dict(GOOD_SCORES, basis=2)
    assert_refused(lambda: rate_answer(people["moderator"], answer, low), ValidationError, "comment")
    assert_refused(lambda: rate_answer(people["moderator"], answer, low, comment="   "), ValidationError, "comment")
    assert_refused(lambda: rate_answer(people["moderator"], answer, low, comment=0), ValidationError, "comment")
    assert_refused(lambda: rate_answer(people["moderator"], answer, GOOD_SCORES, comment="评" * 2001),
                   ValidationError, "comment")
    rating = rate_answer(people["moderator"], answer, low, comment="未引用司法解释。")
    assert rating.basis == 2 and rating.comment == "未引用司法解释。"


def test_moderator_cannot_rate_their_own_answer(people):
    mod_expert = make_user("mod_expert", "110100", roles=["expert", "moderator"], specialities=["criminal"])
    question = make_question(people["asker"])
    answer = answer_by(people, mod_expert, question)
    assert_refused(lambda: rate_answer(mod_expert, answer, GOOD_SCORES), PermissionDenied)


def test_only_moderators_rate(people, answered):
    _, answer = answered
    for who in ("asker", "prov_expert", "admin"):
        assert_refused(lambda u=people[who]: rate_answer(u, answer, GOOD_SCORES), PermissionDenied, label=who)


def test_rating_twice_is_a_conflict(people, answered):
    _, answer = answered
    rate_answer(people["moderator"], answer, GOOD_SCORES)
    assert_refused(lambda: rate_answer(people["moderator"], answer, GOOD_SCORES), Conflict)


# Curating -------------------------------------------------------------------------------------


def test_admin_cannot_make_their_own_answer_canonical(people):
    admin_expert = make_user("admin_expert", "110100", roles=["expert", "admin"], specialities=["criminal"])
    question = make_question(people["asker"])
    answer = answer_by(people, admin_expert, question)
    assert_refused(lambda: mark_canonical(admin_expert, answer), PermissionDenied)
    assert not answer.is_canonical


def test_only_admins_curate(people, answered):
    _, answer = answered
    for who in ("asker", "moderator", "prov_expert"):
        assert_refused(lambda u=people[who]: mark_canonical(u, answer), PermissionDenied, label=who)


def test_canonical_twice_is_a_conflict_and_over_long_text_is_refused(people, answered):
    _, answer = answered
    assert_refused(lambda: mark_canonical(people["admin"], answer, text="文" * 20_001), ValidationError, "text")
    mark_canonical(people["admin"], answer)
    assert_refused(lambda: mark_canonical(people["admin"], answer), Conflict)


# The happy path -------------------------------------------------------------------------------


def test_tags_are_cleaned_and_shared_between_questions(people):
    first = make_question(people["asker"], tags="醉驾、#危险驾驶, 醉驾")
    second = make_question(people["asker"], tags=["危险驾驶", "认罪认罚"])

    assert [t.name for t in first.tags] == sorted(["醉驾", "危险驾驶"])
    assert {t.name for t in second.tags} == {"危险驾驶", "认罪认罚"}
    shared = {t.id for t in first.tags} & {t.id for t in second.tags}
    assert len(shared) == 1


def test_question_life_from_ask_to_canonical(people):
    asker, expert, admin = people["asker"], people["city_expert"], people["admin"]

    question = make_question(asker)
    assert question.status == "assigned" and question.status_name == "办理中"
    assert question.assignee.id == expert.id

    answer = post_answer(expert, question, ANSWER_BODY)
    assert question.status == "answered"
    assert question.answered_at is not None
    assert answer.body_html.startswith("<p>") and "《刑法》" in answer.body_html
    (note,) = db.session.execute(db.select(Notification).filter_by(user_id=asker.id, kind="answered")).scalars()
    assert question.number in note.message and note.read_at is None

    rating = rate_answer(people["moderator"], answer, GOOD_SCORES)
    assert answer.rating_average == 4.0 and rating.total == 16

    accept_answer(asker, question, answer.id)
    assert question.status == "resolved" and question.accepted_answer_id == answer.id

    canonical = mark_canonical(admin, answer, text="**权威答复**：醉驾以血液酒精含量 80mg/100ml 为标准。")
    assert answer.is_canonical
    assert canonical.status == "in_force" and "<strong>权威答复</strong>" in canonical.text_html

    db.session.expire_all()
    reloaded = db.session.get(Question, question.id)
    assert reloaded.status == "resolved"
    assert db.session.get(Answer, answer.id).is_canonical
    actions = db.session.execute(
        db.select(AuditEvent.action).filter_by(question_id=question.id).order_by(AuditEvent.id)
    ).scalars().all()
    assert actions == ["question.created", "question.assigned", "answer.posted", "answer.rated",
                       "answer.accepted", "answer.canonical"]
    # Every change that affects search left an outbox task in the same transaction.
    tasks = db.session.execute(
        db.select(func.count(IndexTask.id)).filter_by(question_id=question.id)
    ).scalar_one()
    assert tasks == 5

"""Quality rules: rating history, helpful votes, flags, the moderation queue, authority tiers, hiding,
revisions with their diff page, close reasons and duplicates."""
from __future__ import annotations

import pytest
from sqlalchemy import func

from qa.errors import Conflict, NotFound, PermissionDenied, ValidationError
from qa.extensions import db
from qa.models import Answer, AuditEvent, HelpfulVote, Notification, Rating, RatingRevision, Revision
from qa.services.answers import post_answer, rate_answer
from qa.services.knowledge import curate_canonical
from qa.services.quality import (
    close_question,
    flag_answer,
    hide_answer,
    mark_reviewed,
    moderation_queue,
    resolve_flag,
    revise_rating,
    unhide_answer,
    vote_helpful,
)
from qa.services.questions import accept_answer
from qa.services.revisions import edit_answer, edit_question
from tests.factories import make_question, make_user

SCORES = {"accuracy": 4, "basis": 4, "relevance": 5, "clarity": 3}
BODY = "依照《刑法》第一百三十三条之一，醉酒驾驶机动车的，处拘役，并处罚金。"
FRAGMENT = "醉酒驾驶机动车的，处拘役"  # statute citations in BODY become links on the page


@pytest.fixture
def answered(people):
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, BODY)
    return question, answer


def actions(question=None) -> list[str]:
    stmt = db.select(AuditEvent.action).order_by(AuditEvent.id)
    if question is not None:
        stmt = stmt.where(AuditEvent.question_id == question.id)
    return list(db.session.execute(stmt).scalars())


def page(client, auth, username, url):
    auth.login(username)
    response = client.get(url)
    auth.logout()
    return response


# Ratings -----------------------------------------------------------------------------------


def test_a_revised_rating_keeps_the_earlier_version_with_the_reason(answered, people):
    question, answer = answered
    moderator = people["moderator"]
    rate_answer(moderator, answer, SCORES, "依据充分。")
    with pytest.raises(ValidationError) as caught:
        revise_rating(moderator, answer, {**SCORES, "basis": 2}, "", "复核")
    assert caught.value.field == "comment"
    db.session.rollback()
    with pytest.raises(ValidationError) as caught:
        revise_rating(moderator, answer, {**SCORES, "basis": 3}, "依据引用不全。", "  ")
    assert caught.value.field == "reason"
    db.session.rollback()
    with pytest.raises(Conflict):
        revise_rating(moderator, answer, SCORES, "依据充分。", "没有变化")
    db.session.rollback()
    revise_rating(moderator, answer, {**SCORES, "basis": 3}, "依据引用不全。", "复核发现未引司法解释")
    ratings = db.session.execute(db.select(Rating)).scalars().all()
    assert len(ratings) == 1 and ratings[0].basis == 3 and ratings[0].comment == "依据引用不全。"
    old = db.session.execute(db.select(RatingRevision)).scalar_one()
    assert (old.basis, old.comment, old.reason) == (4, "依据充分。", "复核发现未引司法解释")
    assert actions(question)[-1] == "answer.rating_revised"
    # Nobody revises what they have not rated, nor ratings of their own answers.
    other_moderator = make_user("mod2", "110000", roles=["moderator"])
    with pytest.raises(NotFound):
        revise_rating(other_moderator, answer, SCORES, "", "试图修订")
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        revise_rating(people["city_expert"], answer, SCORES, "", "自评")


def test_the_revise_page_shows_both_versions(answered, people, client, auth):
    question, answer = answered
    rate_answer(people["moderator"], answer, SCORES)
    auth.login("moderator")
    response = client.post(f"/answers/{answer.id}/rating/revise", data={
        "accuracy": "5", "basis": "4", "relevance": "5", "clarity": "3", "comment": "", "reason": "再次审读"})
    assert response.status_code == 302
    text = client.get(f"/answers/{answer.id}/rating/revise").get_data(as_text=True)
    assert "第 1 版" in text and "再次审读" in text and "现行" in text


# Helpful votes -----------------------------------------------------------------------------


def test_helpful_votes_once_per_user_never_on_ones_own_answer(answered, people, client, auth):
    question, answer = answered
    vote_helpful(people["asker"], answer)
    vote_helpful(people["moderator"], answer)
    with pytest.raises(Conflict):
        vote_helpful(people["asker"], answer)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        vote_helpful(people["city_expert"], answer)
    db.session.rollback()
    assert db.session.execute(db.select(func.count()).select_from(HelpfulVote)).scalar_one() == 2
    text = page(client, auth, "admin", f"/q/{question.number}").get_data(as_text=True)
    assert "有用 2" in text
    auth.login("asker")
    assert client.post(f"/answers/{answer.id}/helpful").status_code == 409
    auth.logout()
    auth.login("city_expert")
    assert client.post(f"/answers/{answer.id}/helpful").status_code == 403


def test_a_voter_withdraws_their_helpful_vote_and_the_count_follows(answered, people, client, auth):
    question, answer = answered
    vote_helpful(people["moderator"], answer)
    auth.login("asker")
    client.post(f"/answers/{answer.id}/helpful")
    text = client.get(f"/q/{question.number}").get_data(as_text=True)
    assert "有用 2" in text and "撤回" in text

    r = client.post(f"/answers/{answer.id}/helpful/withdraw", follow_redirects=True)

    text = r.get_data(as_text=True)
    assert "已撤回" in text and "有用 1" in text and "您已标记“有用”" not in text
    assert client.post(f"/answers/{answer.id}/helpful/withdraw").status_code == 409  # nothing left to withdraw
    event = db.session.execute(db.select(AuditEvent).filter_by(action="answer.helpful_withdrawn")).scalar_one()
    assert event.actor_id == people["asker"].id and event.detail["answer_id"] == answer.id
    assert client.post(f"/answers/{answer.id}/helpful").status_code in (200, 302)  # may vote again
    db.session.expire_all()
    assert db.session.execute(db.select(func.count()).select_from(HelpfulVote)).scalar_one() == 2


# Flags and the moderation queue ------------------------------------------------------------


def test_flags_land_in_the_queue_with_their_reason_and_are_resolved(answered, people, client, auth):
    question, answer = answered
    with pytest.raises(ValidationError):
        flag_answer(people["asker"], answer, "rumour", "不知道")
    db.session.rollback()
    with pytest.raises(ValidationError):
        flag_answer(people["asker"], answer, "outdated", " ")
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        flag_answer(people["city_expert"], answer, "abusive", "自己举报自己")
    db.session.rollback()
    flag = flag_answer(people["asker"], answer, "wrong_law", "所引《刑法》第一百三十三条之一应为之二。")
    with pytest.raises(Conflict):
        flag_answer(people["asker"], answer, "wrong_law", "再举报一次")
    db.session.rollback()
    text = page(client, auth, "moderator", "/moderation").get_data(as_text=True)
    assert "引用法律错误" in text and "应为之二" in text
    resolve_flag(people["moderator"], flag, upheld=True, note="已请答复人更正。")
    assert flag.status == "upheld"
    note = db.session.execute(db.select(Notification).filter_by(user_id=people["asker"].id, kind="flag")).scalar_one()
    assert "已请答复人更正" in note.message
    with pytest.raises(Conflict):
        resolve_flag(people["moderator"], flag, upheld=False, note="再处理")


def test_queue_shows_unrated_first_newest_first_and_filters(people, orgs):
    moderator = people["moderator"]
    spp_expert = make_user("spp_expert", "100000", roles=["expert"], specialities=["civil", "criminal"])
    q1 = make_question(people["asker"])
    a1 = post_answer(people["city_expert"], q1, BODY)
    q2 = make_question(people["asker"], title="民事支持起诉的条件", category="civil", body="民事支持起诉的条件是什么？")
    # route the civil question to the national expert to get another level
    from qa.services.questions import assign_manually
    assign_manually(people["admin"], q2, "spp_expert")
    a2 = post_answer(spp_expert, q2, "依据《民事诉讼法》第十五条。")
    a3 = post_answer(people["city_expert"], q1, "补充：还应考虑从宽情节。")
    other_moderator = make_user("mod2", "110000", roles=["moderator"])
    rate_answer(other_moderator, a3, SCORES)
    queue = db.session.execute(moderation_queue(moderator)).scalars().all()
    assert [a.id for a in queue] == [a2.id, a1.id, a3.id]  # a3 was rated by someone else: last
    civil = db.session.execute(moderation_queue(moderator, category="civil")).scalars().all()
    assert [a.id for a in civil] == [a2.id]
    national = db.session.execute(moderation_queue(moderator, level=1)).scalars().all()
    assert [a.id for a in national] == [a2.id]
    city = db.session.execute(moderation_queue(moderator, level=3)).scalars().all()
    assert {a.id for a in city} == {a1.id, a3.id}
    rate_answer(moderator, a1, SCORES)
    assert a1.id not in [a.id for a in db.session.execute(moderation_queue(moderator)).scalars()]
    # A moderator never sees their own answers in the queue.
    both = make_user("both", "110000", roles=["moderator", "expert"], specialities=["criminal"])
    assert all(a.author_id != both.id for a in db.session.execute(moderation_queue(both)).scalars())


# Authority tiers and hiding ----------------------------------------------------------------


def test_every_answer_shows_its_authority_tier(answered, people, client, auth):
    question, answer = answered
    text = page(client, auth, "asker", f"/q/{question.number}").get_data(as_text=True)
    assert "个人意见仅供参考" in text
    with pytest.raises(PermissionDenied):
        mark_reviewed(people["asker"], answer)
    db.session.rollback()
    mark_reviewed(people["moderator"], answer)
    assert answer.authority_tier == "reviewed"
    assert "经业务部门审核" in page(client, auth, "asker", f"/q/{question.number}").get_data(as_text=True)
    curate_canonical(people["admin"], question, [answer.id])
    db.session.refresh(answer)
    assert answer.authority_tier == "canonical" and answer.tier_name == "权威答复"


def test_hidden_answers_are_kept_shown_to_moderators_and_cannot_be_accepted(answered, people, client, auth):
    question, answer = answered
    with pytest.raises(PermissionDenied):
        hide_answer(people["asker"], answer, "不同意")
    db.session.rollback()
    with pytest.raises(ValidationError):
        hide_answer(people["moderator"], answer, "")
    db.session.rollback()
    hide_answer(people["moderator"], answer, "含有不当言论")
    assert db.session.get(Answer, answer.id) is not None  # never deleted
    asker_view = page(client, auth, "asker", f"/q/{question.number}").get_data(as_text=True)
    assert FRAGMENT not in asker_view and "已被质量评查员隐藏" in asker_view
    moderator_view = page(client, auth, "moderator", f"/q/{question.number}").get_data(as_text=True)
    assert FRAGMENT in moderator_view and "含有不当言论" in moderator_view
    with pytest.raises(PermissionDenied):
        accept_answer(people["asker"], question, answer.id)
    db.session.rollback()
    unhide_answer(people["moderator"], answer, "核实后恢复")
    assert not answer.is_hidden
    assert {"answer.hidden", "answer.unhidden"} <= set(actions(question))


# Revisions and the history page ------------------------------------------------------------


def test_edits_keep_every_revision_with_author_time_and_reason(answered, people):
    question, answer = answered
    with pytest.raises(PermissionDenied):
        edit_question(people["city_expert"], question, title="改", body="改", reason="试")
    db.session.rollback()
    with pytest.raises(ValidationError) as caught:
        edit_question(people["asker"], question, title=question.title, body="新的正文", reason="")
    assert caught.value.field == "reason"
    db.session.rollback()
    original = question.body_md
    edit_question(people["asker"], question, title=question.title, body=original + "\n补充：当事人系初犯。",
                  reason="补充案情")
    edit_question(people["admin"], question, title="醉驾的认定标准", body=question.body_md, reason="规范标题")
    versions = db.session.execute(db.select(Revision).filter_by(object_type="question").order_by(Revision.version)
                                  ).scalars().all()
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].body_md == original and versions[0].author_id == people["asker"].id
    assert (versions[1].reason, versions[2].author_id) == ("补充案情", people["admin"].id)
    with pytest.raises(PermissionDenied):
        edit_answer(people["asker"], answer, body="改答复", reason="试")
    db.session.rollback()
    edit_answer(people["city_expert"], answer, body=BODY.replace("拘役", "六个月以下拘役"), reason="写明刑期")
    assert answer.body_md.count("六个月以下拘役") == 1
    assert {"question.edited", "answer.edited"} <= set(actions(question))


def test_history_page_shows_word_level_side_by_side_diffs(answered, people, client, auth):
    question, answer = answered
    edit_answer(people["city_expert"], answer, body=BODY.replace("醉酒驾驶", "醉驾"), reason="用语简化")
    auth.login("asker")
    text = client.get(f"/q/{question.number}/history").get_data(as_text=True)
    assert "用语简化" in text and "李专家" in text
    assert "<del>醉酒驾驶</del>" in text and "<ins>醉驾</ins>" in text
    assert "<del>" not in text.split("<del>醉酒驾驶</del>")[1].split("</tr>")[0]  # nothing else marked
    # Revisions of a hidden answer are for moderators only.
    hide_answer(people["moderator"], answer, "不当")
    assert "用语简化" not in client.get(f"/q/{question.number}/history").get_data(as_text=True)
    auth.logout()
    assert "用语简化" in page(client, auth, "moderator", f"/q/{question.number}/history").get_data(as_text=True)


# Closing and duplicates --------------------------------------------------------------------


def test_close_reasons_are_shown_with_their_note(people, client, auth):
    facts = make_question(people["asker"], title="某案是否构成自首")
    with pytest.raises(PermissionDenied):
        close_question(people["asker"], facts, "facts", "本人认为属于事实认定")
    db.session.rollback()
    with pytest.raises(ValidationError):
        close_question(people["moderator"], facts, "facts", "")
    db.session.rollback()
    close_question(people["moderator"], facts, "facts", "系具体案件的事实认定问题，请依法自行判断。")
    text = page(client, auth, "asker", f"/q/{facts.number}").get_data(as_text=True)
    assert "涉及事实认定，不予解答" in text and "请依法自行判断" in text
    assert all(not a.active for a in facts.assignments)
    withdrawn = make_question(people["asker"], title="撤回的问题")
    close_question(people["asker"], withdrawn, "withdrawn", "已在院内解决。")
    assert withdrawn.close_reason_name == "提问人撤回"
    classified = make_question(people["asker"], title="含涉密信息的问题")
    close_question(people["admin"], classified, "classified", "含涉密内容，请通过保密渠道请示。")
    with pytest.raises(Conflict):
        close_question(people["admin"], classified, "facts", "再次关闭")


def test_a_duplicate_keeps_its_number_and_redirects_to_the_canonical_thread(people, client, auth):
    original = make_question(people["asker"], title="醉驾的认定标准")
    duplicate = make_question(people["asker"], title="醉驾如何认定")
    third = make_question(people["asker"], title="醉驾认定标准是什么")
    with pytest.raises(ValidationError):
        close_question(people["moderator"], duplicate, "duplicate", "重复", duplicate_of="JD2099-000000-00001")
    db.session.rollback()
    with pytest.raises(ValidationError):
        close_question(people["moderator"], duplicate, "duplicate", "重复", duplicate_of=duplicate.number)
    db.session.rollback()
    close_question(people["moderator"], duplicate, "duplicate", "与原问题相同。", duplicate_of=original.number)
    close_question(people["admin"], third, "duplicate", "同上。", duplicate_of=duplicate.number)
    assert third.duplicate_of_id == original.id  # chains resolve to the thread to read
    auth.login("asker")
    response = client.get(f"/q/{duplicate.number}")
    assert response.status_code == 302 and response.headers["Location"].startswith(f"/q/{original.number}")
    landed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"问题 {duplicate.number} 已作为重复问题关闭" in landed and f"dup-{duplicate.number}" in landed
    kept = client.get(f"/q/{duplicate.number}?stay=1").get_data(as_text=True)
    assert duplicate.number in kept and "重复问题" in kept and original.number in kept

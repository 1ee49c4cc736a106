"""Canonical answers as an editorial workflow, the knowledge base page, and 集萃 batches."""
from __future__ import annotations

from datetime import date

import pytest

from qa.errors import Conflict, PermissionDenied, ValidationError
from qa.extensions import db
from qa.models import CanonicalSource, Revision
from qa.services.answers import post_answer
from qa.services.batches import (
    add_item,
    create_batch,
    deidentify_item,
    edit_item,
    export_markdown,
    item_warnings,
    move_item,
    pii_warnings,
    publish_batch,
    remove_item,
)
from qa.services.knowledge import change_canonical_status, curate_canonical, edit_canonical
from tests.factories import make_question, make_user

FIRST = "醉酒驾驶机动车，血液酒精含量达到 80mg/100ml 以上的，属于醉酒驾驶。"
SECOND = "情节显著轻微的，可以不起诉。"
BASIS = "《刑法》第一百三十三条之一\n《关于办理醉酒危险驾驶刑事案件的意见》第四条"


@pytest.fixture
def thread(people):
    question = make_question(people["asker"])
    a1 = post_answer(people["city_expert"], question, FIRST)
    a2 = post_answer(people["city_expert"], question, SECOND)
    return question, a1, a2


def curate(people, question, answers, **kwargs):
    defaults = {"legal_basis": BASIS, "topic": "危险驾驶", "effective_date": date(2026, 1, 1)}
    return curate_canonical(people["admin"], question, [a.id for a in answers], **{**defaults, **kwargs})


def test_an_admin_curates_a_thread_merging_answers_with_basis_date_line_and_topic(thread, people, client, auth):
    question, a1, a2 = thread
    with pytest.raises(PermissionDenied):
        curate_canonical(people["moderator"], question, [a1.id])
    db.session.rollback()
    other = make_question(people["asker"], title="另一个问题")
    other_answer = post_answer(people["city_expert"], other, "另一答复")
    with pytest.raises(ValidationError):
        curate(people, question, [a1, other_answer])
    db.session.rollback()
    canonical = curate(people, question, [a1, a2], title="醉驾的认定与不起诉")
    assert canonical.text_md == f"{FIRST}\n\n{SECOND}"
    assert {s.answer_id for s in db.session.execute(db.select(CanonicalSource)).scalars()} == {a1.id, a2.id}
    assert (canonical.category_code, canonical.topic, canonical.effective_date) == ("criminal", "危险驾驶",
                                                                                    date(2026, 1, 1))
    with pytest.raises(Conflict):
        curate(people, question, [a1])
    db.session.rollback()
    auth.login("asker")
    text = client.get(f"/knowledge/{canonical.id}").get_data(as_text=True)
    assert "醉驾的认定与不起诉" in text and "关于办理醉酒危险驾驶刑事案件的意见" in text and "2026-01-01" in text
    # Nobody curates their own answer.
    admin_expert = make_user("admin_expert", "110000", roles=["admin", "expert"], specialities=["criminal"])
    from qa.services.questions import assign_manually
    q3 = make_question(people["asker"], title="第三个问题")
    assign_manually(people["admin"], q3, "admin_expert")
    own = post_answer(admin_expert, q3, "本人答复")
    with pytest.raises(PermissionDenied):
        curate_canonical(admin_expert, q3, [own.id])


def test_edits_of_a_canonical_text_keep_revisions(thread, people, client, auth):
    question, a1, _ = thread
    canonical = curate(people, question, [a1])
    with pytest.raises(ValidationError):
        edit_canonical(people["admin"], canonical, text=FIRST + "（修订）", reason="")
    db.session.rollback()
    edit_canonical(people["admin"], canonical, text=FIRST.replace("80mg/100ml", "80 毫克/100 毫升"),
                   reason="统一计量单位写法", legal_basis=BASIS, topic="危险驾驶", effective_date=date(2026, 1, 1))
    versions = db.session.execute(db.select(Revision).filter_by(object_type="canonical").order_by(Revision.version)
                                  ).scalars().all()
    assert [v.version for v in versions] == [1, 2] and "80mg/100ml" in versions[0].body_md
    auth.login("asker")
    text = client.get(f"/q/{question.number}/history").get_data(as_text=True)
    assert "统一计量单位写法" in text and "<ins>" in text


def test_superseded_answers_stay_readable_with_a_banner_pointing_to_the_successor(thread, people, client, auth):
    question, a1, a2 = thread
    old = curate(people, question, [a1], topic="危险驾驶")
    newer_q = make_question(people["asker"], title="醉驾新规下的认定标准")
    newer_a = post_answer(people["city_expert"], newer_q, "依据新的司法解释……")
    with pytest.raises(ValidationError):
        change_canonical_status(people["admin"], old, "superseded", "新规施行", successor_id=old.id)
    db.session.rollback()
    new = curate(people, newer_q, [newer_a], supersedes=old, topic="危险驾驶")
    assert (old.status, old.superseded_by_id) == ("superseded", new.id)
    with pytest.raises(Conflict):
        change_canonical_status(people["admin"], old, "in_force", "恢复")
    db.session.rollback()
    auth.login("asker")
    page = client.get(f"/knowledge/{old.id}").get_data(as_text=True)
    assert "本权威答复已被替代" in page and f"/knowledge/{new.id}" in page
    thread_page = client.get(f"/q/{question.number}").get_data(as_text=True)
    assert "已被替代" in thread_page and f"/knowledge/{new.id}" in thread_page
    listing = client.get("/knowledge").get_data(as_text=True)
    assert f"/knowledge/{new.id}" in listing and f"/knowledge/{old.id}" not in listing
    assert f"/knowledge/{old.id}" in client.get("/knowledge?all=1").get_data(as_text=True)
    # Withdrawn, then reinstated.
    change_canonical_status(people["admin"], new, "withdrawn", "司法解释被废止")
    assert "本权威答复已撤回" in client.get(f"/knowledge/{new.id}").get_data(as_text=True)
    change_canonical_status(people["admin"], new, "in_force", "误撤回，恢复")
    assert new.status == "in_force"


def test_the_knowledge_base_browses_by_business_line_and_topic_newest_first(people, client, auth):
    civil_expert = people["prov_expert"]
    made = []
    for title, category, topic in [("醉驾一", "criminal", "危险驾驶"), ("支持起诉", "civil", "支持起诉"),
                                   ("醉驾二", "criminal", "危险驾驶"), ("盗窃数额", "criminal_ordinary", "盗窃")]:
        q = make_question(people["asker"], title=title, category=category)
        expert = civil_expert if category == "civil" else q.assignee
        if q.assignee is None or q.assignee.id != expert.id:
            from qa.services.questions import assign_manually
            assign_manually(people["admin"], q, expert.username)
        a = post_answer(expert, q, f"{title}的答复")
        made.append(curate_canonical(people["admin"], q, [a.id], topic=topic))
    auth.login("asker")
    text = client.get("/knowledge?category=criminal").get_data(as_text=True)
    order = [text.find(t) for t in ("盗窃数额", "醉驾二", "醉驾一")]
    assert -1 not in order and order == sorted(order) and "支持起诉" not in text.split("专题：")[-1]
    topic = client.get("/knowledge?topic=危险驾驶").get_data(as_text=True)
    assert "醉驾一" in topic and "醉驾二" in topic and "盗窃数额" not in topic
    assert "危险驾驶 2" in client.get("/knowledge").get_data(as_text=True)


# 集萃 batches -------------------------------------------------------------------------------


@pytest.fixture
def canonicals(people):
    made = []
    for i, text in enumerate(["醉驾的认定标准是什么？", "张检察官在北京市朝阳区人民检察院办理的案件如何处理？",
                              "认罪认罚的适用"]):
        q = make_question(people["asker"], title=f"问题{i}", body=text)
        a = post_answer(people["city_expert"], q, f"第 {i} 条答复：依据《刑法》。")
        made.append(curate_canonical(people["admin"], q, [a.id]))
    return made


def test_publishing_fixes_batch_and_item_numbers_for_good(canonicals, people):
    admin = people["admin"]
    with pytest.raises(PermissionDenied):
        create_batch(people["moderator"], "无权")
    db.session.rollback()
    first, second = create_batch(admin, "第一批"), create_batch(admin, "第二批")
    items = [add_item(admin, first, c) for c in canonicals[:2]]
    with pytest.raises(Conflict):
        add_item(admin, first, canonicals[0])
    db.session.rollback()
    move_item(admin, items[1], -1)  # the second becomes 问题1
    add_item(admin, second, canonicals[2])
    with pytest.raises(ValidationError):
        publish_batch(admin, create_batch(admin, "空批"))
    db.session.rollback()
    publish_batch(admin, second, accept_warnings=True)  # published first: 第1批
    publish_batch(admin, first, accept_warnings=True)
    assert (second.number, first.number) == (1, 2)
    assert [(i.number, i.canonical_id) for i in first.items] == [(1, canonicals[1].id), (2, canonicals[0].id)]
    assert first.items[0].citation == "检答集萃第2批·问题1"
    # Nothing changes after publishing.
    for change in (lambda: add_item(admin, first, canonicals[2]), lambda: remove_item(admin, first.items[0]),
                   lambda: move_item(admin, first.items[1], -1), lambda: publish_batch(admin, first),
                   lambda: edit_item(admin, first.items[0], title="改", question_md="改", answer_md="改"),
                   lambda: deidentify_item(admin, first.items[0])):
        with pytest.raises(Conflict):
            change()
        db.session.rollback()
    third = create_batch(admin, "第三批")
    add_item(admin, third, canonicals[0])
    publish_batch(admin, third, accept_warnings=True)
    assert [b.number for b in (second, first, third)] == [1, 2, 3]
    assert [(i.number, i.canonical_id) for i in first.items] == [(1, canonicals[1].id), (2, canonicals[0].id)]


def test_pii_warnings_catch_id_numbers_phones_and_names():
    text = ("被告人王小明，身份证号 110105199001011232，联系电话 13812345678，单位电话 010-65123456。"
            "被害人李某某未到庭。犯罪嫌疑人赵某已到案。")
    found = {(w.kind, w.text) for w in pii_warnings(text, known_names=["张检察官"])}
    assert ("id_card", "110105199001011232") in found
    assert ("phone", "13812345678") in found and ("phone", "010-65123456") in found
    assert ("name", "王小明") in found
    assert not any("李某" in t or "赵某" in t for _, t in found)
    # A number with a wrong check digit is not an ID card; a case number is not a phone.
    assert not pii_warnings("案号 110105199001011238 与（2025）京0105刑初123号")
    assert ("name", "张检察官") in {(w.kind, w.text) for w in pii_warnings("据张检察官介绍", ["张检察官"])}


def test_deidentification_replaces_askers_name_and_unit_and_publishing_warns(canonicals, people, client, auth):
    admin = people["admin"]
    batch = create_batch(admin, "去标识化")
    item = add_item(admin, batch, canonicals[1])
    warnings = item_warnings(item)
    assert ("name", "张检察官") in {(w.kind, w.text) for w in warnings}
    edit_item(admin, item, title=item.title, question_md=item.question_md + "\n联系电话 13812345678。",
              answer_md=item.answer_md)
    with pytest.raises(ValidationError) as caught:
        publish_batch(admin, batch)
    assert caught.value.field == "accept_warnings"
    db.session.rollback()
    auth.login("admin")
    page = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert "疑似电话号码：13812345678" in page and "疑似人名：张检察官" in page
    assert deidentify_item(admin, item) >= 2
    assert "张检察官" not in item.question_md and "北京市朝阳区人民检察院" not in item.question_md
    assert "某检察官" in item.question_md and "某基层人民检察院" in item.question_md
    assert {w.kind for w in item_warnings(item)} == {"phone"}
    edit_item(admin, item, title=item.title, question_md=item.question_md.replace("13812345678", "××××"),
              answer_md=item.answer_md)
    assert item_warnings(item) == []
    publish_batch(admin, batch)
    assert batch.number == 1


def test_export_as_markdown_and_a_print_ready_page(canonicals, people, client, auth):
    admin = people["admin"]
    batch = create_batch(admin, "醉驾专辑", "本批收录醉驾案件办理中的常见问题。")
    for c in canonicals[:2]:
        add_item(admin, batch, c)
    publish_batch(admin, batch, accept_warnings=True)
    md = export_markdown(batch)
    assert md.startswith("# 检答集萃第1批：醉驾专辑") and "## 编者按" in md
    assert "## 问题1：" in md and "## 问题2：" in md and "「检答集萃第1批·问题2」" in md
    auth.login("asker")  # published batches are for everyone
    response = client.get(f"/batches/{batch.id}/export.md")
    assert response.status_code == 200 and response.mimetype == "text/markdown"
    assert response.get_data(as_text=True) == md
    printed = client.get(f"/batches/{batch.id}/print").get_data(as_text=True)
    assert 'class="batch-print"' in printed and "问题2：" in printed and "编者按" in printed
    draft = create_batch(admin, "草稿")
    assert client.get(f"/batches/{draft.id}").status_code == 404  # drafts are for admins only


def test_a_correction_of_a_published_item_keeps_the_original_visible_as_superseded(canonicals, people, client, auth):
    from qa.models import AuditEvent
    from qa.services.batches import correct_item

    admin = people["admin"]
    batch = create_batch(admin, "醉驾专辑")
    item = add_item(admin, batch, canonicals[0])
    with pytest.raises(Conflict, match="草稿批次"):
        correct_item(admin, item, answer_md="新", legal_basis="", note="x")
    db.session.rollback()
    publish_batch(admin, batch, accept_warnings=True)
    original = item.answer_md
    with pytest.raises(ValidationError, match="请填写勘误说明"):
        correct_item(admin, item, answer_md="更正后的答复", legal_basis="", note=" ")
    db.session.rollback()
    with pytest.raises(ValidationError, match="无需勘误"):
        correct_item(admin, item, answer_md=item.answer_md, legal_basis=item.legal_basis, note="无变化")
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        correct_item(people["moderator"], item, answer_md="x", legal_basis="", note="x")
    db.session.rollback()

    auth.login("admin")
    r = client.post(f"/batch-items/{item.id}/correct", follow_redirects=True, data={
        "answer_md": "血液酒精含量达到 80mg/100ml 以上的，构成危险驾驶罪（据 2023 年新司法解释更正）。",
        "legal_basis": "《刑法》第一百三十三条之一", "note": "依据新司法解释更正量刑部分"})
    text = r.get_data(as_text=True)
    correct_item(admin, item, answer_md="第二次更正的文本。", legal_basis="《刑法》第一百三十三条之一", note="再次更正")

    db.session.expire_all()
    assert [c.version for c in item.corrections] == [1, 2] and item.answer_md == original
    assert item.number == 1 and item.citation == "检答集萃第1批·问题1"  # numbering unchanged
    assert "已发布「检答集萃第1批·问题1」的勘误" in text
    page = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert "已勘误（第2次）" in page and "第二次更正的文本。" in page
    assert "发布时的原文（已被更正）" in page and "勘误1的文本（已被更正）" in page and "80mg/100ml" in page
    md = export_markdown(batch)
    assert "第二次更正的文本。" in md and "（勘误1，" in md and "依据新司法解释更正量刑部分" in md
    events = db.session.execute(db.select(AuditEvent).filter_by(action="batch.item_corrected")
                                .order_by(AuditEvent.id)).scalars().all()
    assert [e.detail["version"] for e in events] == [1, 2] and events[0].actor_id == admin.id
    assert events[0].detail["citation"] == "检答集萃第1批·问题1"

"""The core loop, each step by the right person: ask, answer, notify and accept, rate, curate, print."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.support import NUMBER_RE

# The steps hand the question on to each other, in file order, as the people in a procuratorate do.
STORY: dict[str, str] = {}

TITLE = "认罪认罚案件中被告人当庭翻供，检察机关是否应当撤回量刑建议？"
BODY = """**基本情况**：被告人在审查起诉阶段签署认罪认罚具结书，庭审中否认主要犯罪事实。

争议观点：

1. 应当撤回量刑建议，按普通程序审理；
2. 可以调整量刑建议，继续适用认罪认罚从宽制度。

已查阅：《中华人民共和国刑事诉讼法》第二百零一条。"""
ANSWER = """依据《中华人民共和国刑事诉讼法》第二百零一条、第二百二十六条，以及《关于适用认罪认罚从宽制度的指导意见》第五十三条：

1. 被告人当庭翻供、不再认罪的，不再适用认罪认罚从宽制度；
2. 检察机关应当**撤回**原量刑建议，并根据庭审情况依法重新提出；
3. 案件按普通程序审理的，应当依法转换程序。

| 情形 | 处理 |
|---|---|
| 全部翻供 | 撤回量刑建议 |
| 部分翻供 | 视情调整量刑建议 |"""


def needs(*keys: str) -> None:
    missing = [k for k in keys if k not in STORY]
    if missing:
        pytest.skip(f"an earlier step of the core loop did not finish ({', '.join(missing)})")


def test_asker_asks_with_a_live_preview_and_gets_the_number(people):
    asker = people("asker")
    asker.nav("提问")
    page = asker.page
    expect(page.get_by_role("heading", level=1)).to_contain_text("提问")
    asker.check("提问页")
    page.get_by_label("标题").fill(TITLE)
    page.get_by_label("问题内容").fill(BODY)
    preview = page.locator("#body-preview")
    expect(preview.locator("strong")).to_have_text("基本情况")  # rendered by the server, as it will be stored
    expect(preview.locator("ol > li")).to_have_count(2)
    page.get_by_label("业务条线").select_option("criminal")
    page.get_by_label("标签").fill("认罪认罚, 量刑建议")
    page.get_by_label("本问题属于法律适用").check()
    page.get_by_label("本问题不含涉密信息").check()
    asker.check("提问页-已填写")
    page.get_by_role("button", name="提交问题").click()

    message = asker.flash()
    number = NUMBER_RE.search(message)
    assert number, f"the success message names no number: {message}"
    assert "李卫东" in message  # routed one level up, to the criminal expert of the branch procuratorate
    expect(page).to_have_url(re.compile(rf"/q/{number.group(0)}$"))
    assert asker.number_on_page() == number.group(0)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".thread .badge").filter(has_text="办理中")).to_be_visible()
    expect(page.locator(".trail")).to_contain_text("提问")
    asker.check("问题页-已提交")
    STORY["number"] = number.group(0)


def test_the_ask_form_shows_errors_next_to_the_fields(people):
    asker = people("asker")
    asker.goto("/ask")
    asker.allow(422, "/ask")
    asker.page.get_by_role("button", name="提交问题").click()
    invalid = asker.page.locator(".is-invalid")
    expect(invalid.first).to_be_visible()
    # Each message sits right after its own field and is announced with it.
    first = invalid.first
    feedback = asker.page.locator(".is-invalid + .invalid-feedback, .is-invalid ~ .invalid-feedback").first
    expect(feedback).to_be_visible()
    assert first.get_attribute("aria-invalid") == "true"
    expect(first).to_be_focused()  # the cursor waits in the first field to correct
    asker.check("提问页-表单错误")


def test_expert_finds_it_in_the_inbox_and_answers(people):
    needs("number")
    number = STORY["number"]
    expert = people("expert")
    expert.nav("待答复")
    row = expert.page.locator(".list-group-item").filter(has_text=number)
    expect(row).to_be_visible()
    expect(row).to_contain_text("答复期限")
    expert.check("待答复")
    row.get_by_role("link", name=TITLE).click()
    expect(expert.page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expert.page.get_by_label("答复内容").fill(ANSWER)
    expect(expert.page.locator("#body-preview table")).to_be_visible()
    expert.check("问题页-撰写答复")
    expert.page.get_by_role("button", name="提交答复").click()
    assert number in expert.flash()
    answer = expert.page.locator("section.card").filter(has_text="撤回原量刑建议")
    expect(answer).to_contain_text("以上意见仅供参考")
    expert.check("问题页-已答复")


def test_asker_is_notified_and_accepts_the_answer(people):
    needs("number")
    number = STORY["number"]
    asker = people("asker")
    bell = asker.page.get_by_role("link", name=re.compile(r"通知，\d+ 条未读"))
    expect(asker.page.get_by_test_id("unread-count")).to_be_visible()
    bell.click()
    expect(asker.page.get_by_role("heading", level=1)).to_contain_text("通知")
    note = asker.page.locator(".list-group-item").filter(has_text=number).filter(has_text="答复").first
    expect(note).to_be_visible()
    asker.check("通知")
    note.get_by_role("button", name="查看问题").click()
    expect(asker.page).to_have_url(re.compile(rf"/q/{number}$"))
    asker.page.get_by_role("button", name="采纳此答复").click()
    message = asker.flash()
    assert number in message and "已办结" in message
    expect(asker.page.locator(".thread .badge").filter(has_text="已办结")).to_be_visible()
    expect(asker.page.locator(".badge").filter(has_text="已采纳")).to_be_visible()
    asker.check("问题页-已采纳")
    STORY["accepted"] = "yes"


def test_moderator_rates_the_answer(people):
    needs("number")
    number = STORY["number"]
    moderator = people("moderator")
    moderator.nav("质量评查")
    row = moderator.page.locator(".list-group-item").filter(has_text=number)
    expect(row).to_be_visible()
    moderator.check("质量评查")
    row.get_by_role("link", name="评定").click()
    page = moderator.page
    expect(page.get_by_role("heading", level=1)).to_have_text("质量评定")
    moderator.check("评定页")
    for criterion, score in (("准确性", "5"), ("依据", "5"), ("针对性", "4"), ("规范性", "4")):
        page.get_by_role("group", name=re.compile(criterion)).get_by_label(score, exact=True).check()
    page.get_by_label("评语").fill("依据充分，结论明确；建议补充庭审程序转换的具体操作。")
    page.get_by_role("button", name="提交评定").click()
    assert number in moderator.flash()
    expect(page.get_by_test_id("rating").first).to_contain_text("4.5")
    moderator.check("问题页-已评定")
    STORY["rated"] = "yes"


def test_admin_marks_it_canonical_and_it_is_in_the_knowledge_base(people):
    needs("number")
    number = STORY["number"]
    admin = people("admin")
    admin.goto(f"/q/{number}")
    admin.page.get_by_role("link", name="列为权威答复").click()
    page = admin.page
    expect(page.get_by_role("heading", level=1)).to_contain_text("权威答复")
    text = page.get_by_label("权威答复文本")
    expect(text).to_have_value(re.compile("撤回"))
    text.fill(ANSWER + "\n\n（本答复经整理，可在办案中参照。）")
    if page.get_by_label("法律依据").count():  # the knowledge base's curation form (issue 5)
        page.get_by_label("法律依据").fill("《中华人民共和国刑事诉讼法》第二百零一条\n《关于适用认罪认罚从宽制度的指导意见》第五十三条")
        page.get_by_label("专题").fill("认罪认罚")
    page.get_by_label("生效日期").fill("2026-01-01")
    admin.check("列为权威答复")
    page.get_by_role("button", name="列为权威答复").click()
    assert number in admin.flash()
    expect(page.get_by_test_id("canonical-mark")).to_be_visible()
    canonical = page.locator("section.card.canonical")
    expect(canonical).not_to_contain_text("以上意见仅供参考")
    admin.check("问题页-权威答复")
    admin.nav("知识库")
    entry = page.locator(".list-group-item").filter(has_text=number)
    expect(entry).to_contain_text("权威答复")
    admin.check("知识库")
    STORY["canonical"] = "yes"
    entry.get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text("撤回")
    admin.check("权威答复页")


def test_a_thread_prints_on_a4_without_the_navigation(people):
    needs("canonical")
    number = STORY["number"]
    reader = people("asker_xh")
    reader.goto(f"/q/{number}", "问题页-他院读者")
    page = reader.page
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="主导航")).to_be_hidden()
    expect(page.locator("footer")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".q-number").first).to_be_visible()
    expect(page.get_by_test_id("canonical-mark")).to_be_visible()
    reader.screenshot("打印样式")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")

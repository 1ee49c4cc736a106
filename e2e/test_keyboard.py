"""Keyboard only: asking and answering with Tab, typing, Space and Enter, never the mouse."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.support import NUMBER_RE

STORY: dict[str, str] = {}
TITLE = "醉驾案件中当事人拒绝抽血，能否仅凭呼气酒精含量检测结果认定？"


def test_ask_with_the_keyboard_only(people):
    asker = people("asker_tz")  # 通州区院 → the third branch's criminal expert
    asker.goto("/ask")
    page = asker.page
    asker.tab_to("#title")
    page.keyboard.type(TITLE)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "body", f"Tab after the title went to {asker.focused()}"
    page.keyboard.type("当事人驾车被查获，呼气检测结果为 **95mg/100ml**，但拒绝抽血。\n\n请问能否据此认定醉酒驾驶？")
    expect(page.locator("#body-preview strong")).to_have_text("95mg/100ml")
    asker.tab_to("#category", limit=5)
    for _ in range(3):
        if page.get_by_label("业务条线").input_value() == "criminal":
            break
        page.keyboard.press("ArrowDown")
    expect(page.get_by_label("业务条线")).to_have_value("criminal")
    asker.tab_to("#tags", limit=5)
    page.keyboard.type("醉驾 呼气检测")
    asker.tab_to("#law_not_facts", limit=3)
    page.keyboard.press("Space")
    asker.tab_to("#not_classified", limit=2)
    page.keyboard.press("Space")
    expect(page.get_by_label("本问题不含涉密信息")).to_be_checked()
    asker.tab_to("#ask-form button[type=submit]", limit=3)
    asker.screenshot("键盘提问-提交前")
    page.keyboard.press("Enter")
    match = NUMBER_RE.search(asker.flash())
    assert match, "no number in the message after asking"
    expect(page).to_have_url(re.compile(rf"/q/{match.group(0)}$"))
    STORY["number"] = match.group(0)


def test_answer_with_the_keyboard_only(people):
    number = STORY.get("number")
    if number is None:
        import pytest

        pytest.skip("the keyboard question was not asked")
    expert = people("expert")
    expert.goto(f"/q/{number}")
    page = expert.page
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    page.keyboard.press("Enter")  # skip the navigation
    expert.tab_to("#answer-form textarea#body", limit=40)
    page.keyboard.type("拒绝抽血的，可以依据呼气酒精含量检测结果认定，但应当结合其他证据综合判断。\n\n"
                       "依据：《关于办理醉酒危险驾驶刑事案件的意见》第十三条。")
    expert.tab_to("#answer-form button[type=submit]", limit=4)
    page.keyboard.press("Enter")
    message = expert.flash()
    assert number in message, message
    expect(page.locator("section.card").filter(has_text="呼气酒精含量检测结果认定")).to_be_visible()
    expert.check("键盘答复-已答复")

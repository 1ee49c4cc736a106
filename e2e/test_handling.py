"""Expert handling on the question page: transfer to a colleague, escalation to the level above."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect


def handling_panel(person):
    panel = person.page.locator("#handling")
    if panel.count() == 0:
        pytest.skip("the question page has no handling actions (issue 4) yet")
    return panel


def test_expert_transfers_and_the_colleague_escalates(people):
    asker = people("asker_hd")  # 海淀区院: routed to the first branch's criminal expert
    number = asker.ask("帮助信息网络犯罪活动罪中“明知”的认定，仅凭行为人供述能否认定？",
                       "行为人出售本人银行卡，辩称不知用于犯罪。除供述外，哪些客观证据可以推定“明知”？\n\n"
                       "已查阅：《最高人民法院、最高人民检察院关于办理非法利用信息网络、帮助信息网络犯罪活动等刑事案件"
                       "适用法律若干问题的解释》第十一条。", "criminal", "帮信罪, 明知")
    first = people("expert_bj1")
    first.goto(f"/q/{number}")
    panel = handling_panel(first)
    first.check("问题页-承办专家")
    panel.get_by_text("转交其他专家").click()
    # Anyone in the pool above the asker's procuratorate; the level directly above is not the SPP.
    options = first.page.locator("#transfer-candidates option")
    candidates = [(options.nth(i).get_attribute("value"), options.nth(i).inner_text()) for i in range(options.count())]
    receiver = next((value for value, text in candidates if "最高人民检察院" not in text), None)
    assert receiver, f"no colleague to transfer to: {candidates}"
    panel.get_by_label("接收专家（用户名）").fill(receiver)
    panel.get_by_label("转交理由").fill("本院近期帮信案件较多，请上级院专家统一把握尺度。")
    panel.get_by_role("button", name="转交", exact=True).click()
    message = first.flash()
    assert number in message and "转交" in message, message
    expect(first.page.locator(".trail")).to_contain_text("转交")

    second = people(receiver)
    second.goto(f"/q/{number}")
    panel = handling_panel(second)
    panel.get_by_text("提请上级院办理").click()
    panel.get_by_label("提请理由").fill("各地对“明知”的推定标准不一，属于争议性问题，提请上级院统一答复。")
    panel.get_by_role("button", name="提请上级院").click()
    message = second.flash()
    assert number in message and "上级院" in message, message
    expect(second.page.locator(".trail")).to_contain_text("提请上级")
    second.check("问题页-已提请上级院")


def test_expert_sees_the_claimable_questions_and_the_directory(people):
    expert = people("expert")
    expert.goto("/experts/claimable")
    expect(expert.page.get_by_role("heading", level=1)).to_contain_text("可认领")
    expert.check("可认领")
    expert.nav("答疑专家")
    expect(expert.page.get_by_role("heading", level=1)).to_be_visible()
    expert.check("答疑专家名录")

"""Administration and the profile: users, the unassigned queue, the procuratorate tree, API tokens,
and what a brand-new user sees (empty states that say what to do)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.support import BASE_URL

NEW_USER = {"username": "e2e_wangli", "name": "王立", "org": "110114", "password": "e2e-pass-2026"}
STORY: dict[str, str] = {}


def test_admin_creates_a_user_and_resets_the_password(people):
    admin = people("admin")
    admin.nav("管理")
    page = admin.page
    expect(page.get_by_role("table")).to_be_visible()
    admin.check("用户管理")
    page.get_by_label("搜索用户").fill("检察院第三分院")
    page.get_by_role("button", name="搜索").click()
    expect(page.get_by_role("cell", name="expert", exact=True)).to_be_visible()
    page.get_by_role("link", name="新建用户").click()
    admin.check("新建用户")
    page.get_by_label("用户名").fill(NEW_USER["username"])
    page.get_by_label("姓名").fill(NEW_USER["name"])
    page.get_by_label("所在单位代码").fill(NEW_USER["org"])
    page.get_by_label("初始密码").fill(NEW_USER["password"])
    page.get_by_role("button", name="保存").click()
    message = admin.flash()
    assert NEW_USER["username"] in message and "已创建" in message, message
    admin.check("用户已创建")
    STORY["user"] = NEW_USER["username"]
    page.get_by_role("button", name="重置密码").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("密码已重置")
    new_password = page.get_by_test_id("new-password").inner_text().strip()
    assert len(new_password) >= 8
    admin.check("密码已重置")
    STORY["password"] = new_password


def test_admin_sees_the_queue_the_pool_and_the_tree(people):
    admin = people("admin")
    admin.goto("/admin/queue")
    expect(admin.page.get_by_role("heading", level=1)).to_have_text("管理")
    admin.check("待分派问题")
    tabs = admin.page.locator("main .nav-tabs")
    if tabs.get_by_role("link", name="答疑专家库").count():
        tabs.get_by_role("link", name="答疑专家库").click()
        admin.check("答疑专家库")
    tabs.get_by_role("link", name="检察院").click()
    expect(admin.page.locator(".org-tree")).to_contain_text("最高人民检察院")
    admin.check("检察院")
    tabs = admin.page.locator("main .nav-tabs")
    if tabs.get_by_role("link", name="检索词典").count():
        tabs.get_by_role("link", name="检索词典").click()
        status = admin.page.get_by_test_id("index-status")
        expect(status).to_contain_text(re.compile(r"已索引 \d+ 个问答"))
        admin.check("检索词典与索引状态")
    for name in ("审计日志", "集萃"):
        admin.goto("/admin/users")
        tabs = admin.page.locator("main .nav-tabs")
        if tabs.get_by_role("link", name=name).count():  # the audit log and 集萃 (issue 5)
            tabs.get_by_role("link", name=name).click()
            expect(admin.page.get_by_role("heading", level=1)).to_be_visible()
            admin.check(name)


def test_a_new_user_sees_empty_states_that_say_what_to_do(people):
    if "password" not in STORY:
        pytest.skip("the admin did not create the user")
    newcomer = people.anonymous(NEW_USER["username"])
    newcomer.login(password=STORY["password"])
    page = newcomer.page
    expect(page.get_by_role("heading", level=1)).to_contain_text(NEW_USER["name"])
    mine = page.locator("section").filter(has=page.get_by_role("heading", name=re.compile("我的提问")))
    expect(mine).to_contain_text("还没有提问")
    newcomer.check("新用户首页")
    newcomer.nav("我的提问")
    expect(page.get_by_role("link", name="去提问")).to_be_visible()
    newcomer.check("我的提问-空")
    newcomer.goto("/notifications")
    expect(page.locator("main")).to_contain_text("暂无通知")
    newcomer.check("通知-空")


def test_profile_creates_and_revokes_an_api_token(people):
    person = people("asker_yh")
    person.page.get_by_role("navigation", name="主导航").get_by_role("link", name=re.compile("吴建国")).click()
    page = person.page
    expect(page).to_have_url(f"{BASE_URL}/profile")
    expect(page.get_by_text("尚未创建令牌")).to_be_visible()
    person.check("个人中心")
    page.get_by_label("令牌名称").fill("案件管理系统对接")
    page.get_by_role("button", name="创建令牌").click()
    token = page.get_by_test_id("new-token").inner_text().strip()
    assert token.startswith("jd_")
    assert "案件管理系统对接" in person.flash()
    person.check("令牌已创建")
    row = page.get_by_role("row").filter(has_text="案件管理系统对接")
    row.get_by_role("button", name="撤销").click()
    assert "已撤销" in person.flash()
    expect(page.get_by_role("row").filter(has_text="案件管理系统对接")).to_contain_text("已撤销")
    expect(page.get_by_test_id("new-token")).to_have_count(0)  # shown once only


def test_statistics_show_quality_beside_quantity(people):
    admin = people("admin")
    menu = admin.page.get_by_role("navigation", name="主导航")
    if menu.get_by_role("link", name="统计", exact=True).count() == 0:
        pytest.skip("there is no statistics page (issue 6) yet")
    admin.nav("统计")
    expect(admin.page.get_by_role("heading", level=1)).to_be_visible()
    admin.check("统计")

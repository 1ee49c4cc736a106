"""Logging in and out, the 403 and 404 pages, and the navigation on a phone."""
from __future__ import annotations

from playwright.sync_api import expect

from e2e.support import BASE_URL, PHONE


def test_login_page_rejects_a_wrong_password_then_logs_in(people):
    visitor = people.anonymous("asker")
    visitor.goto("/", status=200)  # nothing is visible without logging in: the log-in page
    expect(visitor.page).to_have_url(f"{BASE_URL}/login?next=%2F")
    visitor.check("登录页")
    visitor.allow(401, "/login")
    visitor.page.get_by_label("用户名").fill("asker")
    visitor.page.get_by_label("密码").fill("not-the-password")
    visitor.page.get_by_role("button", name="登录").click()
    expect(visitor.page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    visitor.check("登录失败")
    visitor.page.get_by_label("密码").fill("demo-pass-2026")
    visitor.page.get_by_role("button", name="登录").click()
    expect(visitor.page).to_have_url(f"{BASE_URL}/")
    expect(visitor.page.get_by_role("alert").filter(has_text="欢迎")).to_be_visible()
    expect(visitor.page.get_by_role("heading", level=1)).to_contain_text("您好")
    visitor.check("首页")


def test_a_forbidden_page_shows_the_403_page(people):
    asker = people("asker")
    asker.goto("/admin/users", status=403)
    expect(asker.page.get_by_role("heading", level=1)).to_contain_text("无权访问")
    expect(asker.page.get_by_role("link", name="返回首页")).to_be_visible()
    asker.check("403")
    asker.goto("/q/JD2026-000000-99999", status=404)
    expect(asker.page.get_by_role("heading", level=1)).to_contain_text("页面不存在")
    asker.check("404")


def test_logout_ends_the_session_even_for_a_copied_cookie(people):
    person = people("asker_hd")
    old_state = person.context.storage_state()
    assert any(c["name"] == "session" for c in old_state["cookies"])
    person.page.get_by_role("button", name="退出").click()
    expect(person.page).to_have_url(f"{BASE_URL}/login")
    expect(person.page.get_by_role("alert")).to_contain_text("您已安全退出")
    person.check("已退出")
    # Someone replays the cookie taken before log-out: the session is over on the server too.
    replay = people.anonymous("asker_hd-replay", storage_state=old_state)
    replay.goto("/notifications")
    expect(replay.page).to_have_url(f"{BASE_URL}/login?next=%2Fnotifications")
    expect(replay.page.get_by_label("用户名")).to_be_visible()


def test_on_a_phone_the_navigation_collapses(people):
    asker = people("asker")
    asker.page.set_viewport_size(PHONE)
    menu = asker.page.get_by_role("navigation", name="主导航")
    toggler = menu.get_by_role("button", name="展开导航")
    expect(toggler).to_be_visible()
    expect(menu.get_by_role("link", name="知识库", exact=True)).to_be_hidden()
    toggler.click()
    expect(menu.get_by_role("link", name="知识库", exact=True)).to_be_visible()
    asker.page.screenshot(path=asker_menu_path(people), full_page=False)
    menu.get_by_role("link", name="知识库", exact=True).click()
    expect(asker.page.get_by_role("heading", level=1)).to_contain_text("知识库")
    asker.check("知识库")


def asker_menu_path(people):
    from e2e.support import ARTIFACTS, slug

    folder = ARTIFACTS / slug(people.test_name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "00-asker-菜单展开-phone.png"

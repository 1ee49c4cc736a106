"""Fixtures for the browser flows: Debian's Chromium, one window per person, checks after each test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from e2e.support import BASE_URL, CHROMIUM, CHROMIUM_ARGS, DESKTOP, Person, save_failure

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Never a downloaded browser: the system's Chromium, headless.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class People:
    """Opens a window per person; `people("asker")` is logged in, `people.anonymous()` is not."""

    def __init__(self, browser: Browser, test_name: str):
        self.browser = browser
        self.test_name = test_name
        self.opened: list[Person] = []
        self._shots = [0]

    def anonymous(self, username: str = "anonymous", storage_state=None) -> Person:
        context = self.browser.new_context(
            base_url=BASE_URL, viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai",
            storage_state=storage_state,
        )
        context.set_default_timeout(10_000)
        person = Person(context, username, self.test_name, self._shots)
        self.opened.append(person)
        return person

    def __call__(self, username: str, label: str | None = None) -> Person:
        person = self.anonymous(username)
        person.login(label=label)
        return person


@pytest.fixture
def people(browser: Browser, request: pytest.FixtureRequest) -> Iterator[People]:
    crowd = People(browser, request.node.name)
    yield crowd
    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    problems = [f"{p.username}: {problem}" for p in crowd.opened for problem in p.watch.problems]
    if failed or problems:
        for person in crowd.opened:
            save_failure(person, request.node.name)
    for person in crowd.opened:
        person.context.close()
    if problems and not failed:
        pytest.fail("console errors or failed requests on the pages visited:\n" + "\n".join(problems))

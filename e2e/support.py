"""Helpers for the browser flows: a person's window, checked pages, axe, screenshots, keyboard."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response, expect

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "e2e-artifacts"
AXE_VERSION = "4.14.1"
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
BASE_URL = os.environ.get("E2E_BASE_URL", "http://127.0.0.1:5000")
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
# Debian's Chromium on a closed network: no sandbox as root, no GPU, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PASSWORD = "demo-pass-2026"
BLOCKING_IMPACTS = {"serious", "critical"}
NUMBER_RE = re.compile(r"JD\d{4}-\d{6}-\d{5}")
# Chromium reports every HTTP error response as a console error too; responses are checked on their own.
HTTP_ERROR_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


def slug(text: str) -> str:
    return re.sub(r"[^\w\u4e00-\u9fff-]+", "-", text).strip("-")[:80]


@dataclass
class Watch:
    """What went wrong on a person's pages: console errors, page errors, failed or refused requests."""

    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    allowed_statuses: set[tuple[int, str]] = field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        self.console.append(f"[{message.type}] {message.text} ({url})")
        if message.type != "error":
            return
        http_error = HTTP_ERROR_CONSOLE.match(message.text)
        if http_error and self.is_allowed(int(http_error.group(1)), url):
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def is_allowed(self, status: int, url: str) -> bool:
        path = url.removeprefix(BASE_URL)
        return any(status == allowed and path.startswith(prefix) for allowed, prefix in self.allowed_statuses)

    def on_page_error(self, error) -> None:
        self.console.append(f"[pageerror] {error}")
        self.problems.append(f"uncaught exception: {error}")

    def on_request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        # A request cut short by a navigation (the user moved on) is not a failure of the page.
        if "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({failure})")

    def on_response(self, response: Response) -> None:
        if response.status < 400:
            return
        if self.is_allowed(response.status, response.url):
            return
        path = response.url.removeprefix(BASE_URL)
        self.problems.append(f"HTTP {response.status}: {response.request.method} {path}")


class Person:
    """One person at their own browser window (context): log in, visit, check every page."""

    def __init__(self, context: BrowserContext, username: str, test_name: str, shots: list[int]):
        self.context = context
        self.username = username
        self.test_name = test_name
        self._shots = shots  # a counter shared by everyone in the test, so screenshots sort in order
        self.watch = Watch()
        self.page = context.new_page()
        self.attach(self.page)

    def attach(self, page: Page) -> None:
        page.on("console", self.watch.on_console)
        page.on("pageerror", self.watch.on_page_error)
        page.on("requestfailed", self.watch.on_request_failed)
        page.on("response", self.watch.on_response)

    # Navigation ---------------------------------------------------------------------------

    def allow(self, status: int, path_prefix: str) -> None:
        """Expect an HTTP error status on this path (a 403 page, a form with errors)."""
        self.watch.allowed_statuses.add((status, path_prefix))

    def goto(self, path: str, label: str | None = None, status: int = 200) -> Response:
        if status >= 400:
            self.allow(status, path.split("?")[0])
        response = self.page.goto(BASE_URL + path)
        assert response is not None and response.status == status, (
            f"GET {path}: expected {status}, got {response.status if response else None}")
        if label:
            self.check(label)
        return response

    def login(self, password: str = PASSWORD, label: str | None = None) -> None:
        """Log in through the form, as a person would: type the name and password, press Enter."""
        self.goto("/login", label)
        self.page.get_by_label("用户名").fill(self.username)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_label("密码").press("Enter")
        expect(self.page.get_by_role("alert").filter(has_text="欢迎")).to_be_visible()

    def nav_open(self) -> None:
        """Open the collapsed navigation menu when the screen is narrow."""
        self.page.wait_for_load_state("load")  # the style sheets decide whether the menu is collapsed
        toggler = self.page.locator("nav .navbar-toggler")
        if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
            toggler.click()
            expect(self.page.locator("nav .navbar-collapse")).to_be_visible()

    def nav(self, name: str) -> None:
        """Follow a link in the main navigation (opening the collapsed menu on a narrow screen)."""
        self.nav_open()
        self.page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True).click()

    def flash(self) -> str:
        """The success (or other) message shown after an action."""
        alert = self.page.locator("main .alert").first
        expect(alert).to_be_visible()
        return alert.inner_text().strip()

    # Checks -------------------------------------------------------------------------------

    def check(self, label: str) -> None:
        """Every page visited: settled, accessible (axe), and photographed at desktop and phone size."""
        self.page.wait_for_load_state("networkidle")
        violations = run_axe(self.page)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        minor = [v for v in violations if v["impact"] not in BLOCKING_IMPACTS]
        if minor:
            with (ARTIFACTS / "axe-minor.txt").open("a", encoding="utf-8") as fh:
                for v in minor:
                    fh.write(f"{self.page.url} {v['impact']} {v['id']}: {v['help']} {v['targets'][:3]}\n")
        self.screenshot(label)
        assert not blocking, f"axe on {self.page.url} ({label}):\n" + format_violations(blocking)

    def screenshot(self, label: str) -> None:
        self._shots[0] += 1
        folder = ARTIFACTS / slug(self.test_name)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{self._shots[0]:02d}-{self.username}-{slug(label)}"
        size = self.page.viewport_size or DESKTOP
        try:
            self.page.set_viewport_size(DESKTOP)
            self.page.screenshot(path=folder / f"{stem}-desktop.png", full_page=True)
            self.page.set_viewport_size(PHONE)
            self.page.screenshot(path=folder / f"{stem}-phone.png", full_page=True)
        finally:
            self.page.set_viewport_size(size)

    def ask(self, title: str, body: str, category: str, tags: str = "") -> str:
        """Ask a question through the form (mouse and keyboard as usual); returns its number."""
        self.goto("/ask")
        self.page.get_by_label("标题").fill(title)
        self.page.get_by_label("问题内容").fill(body)
        self.page.get_by_label("业务条线").select_option(category)
        if tags:
            self.page.get_by_label("标签").fill(tags)
        self.page.get_by_label("本问题属于法律适用").check()
        self.page.get_by_label("本问题不含涉密信息").check()
        self.page.get_by_role("button", name="提交问题").click()
        match = NUMBER_RE.search(self.flash())
        assert match, "the success message after asking names no number"
        return match.group(0)

    def number_on_page(self) -> str:
        text = self.page.locator(".q-number").first.inner_text()
        match = NUMBER_RE.search(text)
        assert match, f"no question number on {self.page.url}"
        return match.group(0)

    # Keyboard -----------------------------------------------------------------------------

    def tab_to(self, selector: str, limit: int = 80, backwards: bool = False) -> None:
        """Press Tab until the element matching the selector has the focus (keyboard-only use)."""
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(limit):
            self.page.keyboard.press(key)
            if self.page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} cannot be reached with the Tab key on {self.page.url}")

    def focused(self) -> str:
        return self.page.evaluate("() => document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ''")


def run_axe(page: Page) -> list[dict]:
    """Run axe-core in the page (evaluated through the debugging protocol: the page's CSP stays on)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE + "\n;0")
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' ')),
            summaries: v.nodes.map(n => n.failureSummary),
        }));
    }""")


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['impact']} {v['id']}: {v['help']}")
        for target, summary in list(zip(v["targets"], v["summaries"], strict=False))[:5]:
            lines.append(f"    {target}: {(summary or '').splitlines()[-1] if summary else ''}")
    return "\n".join(lines)


def save_failure(person: Person, test_name: str) -> None:
    """A failing test keeps what the person saw and what the console said."""
    folder = ARTIFACTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{slug(test_name)}-{person.username}"
    for index, page in enumerate(person.context.pages):
        suffix = f"-{index}" if index else ""
        try:
            page.screenshot(path=folder / f"{stem}{suffix}.png", full_page=True)
        except Exception as error:  # a closed or crashed page: keep going with the log
            person.watch.console.append(f"[screenshot failed] {error}")
    report = {"url": person.page.url, "problems": person.watch.problems, "console": person.watch.console}
    (folder / f"{stem}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")

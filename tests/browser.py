"""Real-browser fixtures for the web UI's tests: Debian's Chromium driven by Playwright.

``tests/conftest.py`` loads this module as a pytest plugin. Playwright drives the
``/usr/bin/chromium`` that ``scripts/install-test-services`` installs; it never downloads
a browser of its own (no ``playwright install``), and needs no chromium-driver.

- ``browser``: one headless Chromium for each test module. Missing Chromium (or Playwright)
  skips the test with the reason, or fails it under ``CI=true``.
- ``page``: a fresh context per test (no shared cookies), a fixed 1280x800 viewport. Console
  errors, uncaught page errors and Content-Security-Policy violations are collected and
  must be absent when the test ends; ``page_errors.allow("...")`` accepts the ones a test
  causes on purpose (a 422 page logs "status of 422" in the console).
- ``shoot(page, name)``: a screenshot to the test's tmp directory; with
  ``CORRAL_UI_SHOTS=1`` also to ``docs/ui/NAME.png``, the pictures ``docs/ui.md`` shows.
- ``axe_check(page)``: axe-core's accessibility rules on the page as it is; serious and
  critical violations fail the test, each listed with the elements it found.
- ``login(page, served, scope)``: a token of that scope made with ``corral token create``,
  typed into the login form; returns once the browser is past the login page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import need

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page
    from served import Served

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# No GPU, no sandbox (containers), and nothing that calls out to the network on its own:
# the tests must not depend on (or reach) anything but the server under test.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SHOTS = ROOT / "docs" / "ui"
# Bounded waits: generous for a machine shared with other jobs, never a fixed sleep.
TIMEOUT_MS = 15_000
# Chromium reports a CSP refusal as a console error; the page also gets a
# securitypolicyviolation event, which this script forwards so none is missed.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__corralCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` at ${e.sourceFile || document.location.pathname}:${e.lineNumber}`);
});
"""


# Module scope: Playwright's sync API runs an asyncio loop in the main thread while it is
# open, and ``asyncio.run`` (the MCP tests' client) refuses to start in a thread with a
# running loop: a session-long browser broke every asyncio test after it on its worker.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the tests of one module."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing (scripts/install-test-services installs it)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:  # pragma: no cover - a dev install has it
        need(False, "playwright is not installed: pip install -e '.[dev]'")
        raise
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, timeout=60_000
            )
        except Error as exc:
            need(False, f"Chromium did not start: {str(exc).splitlines()[0]}")
            raise
        yield launched
        launched.close()


@dataclass
class PageErrors:
    """What went wrong in the page, as a user with the console open would see it."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, text: str) -> None:
        """Accept errors containing ``text`` (ones the test causes on purpose)."""
        self.allowed.append(text)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console: {message.text} ({where})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def on_csp(self, text: str) -> None:
        self.errors.append(f"CSP violation: {text}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, page_errors: PageErrors) -> Iterator[Page]:
    """A new page in its own context (no cookies from other tests), 1280x800."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_function("__corralCsp", page_errors.on_csp)
    context.add_init_script(CSP_LISTENER)
    opened = context.new_page()
    opened.on("console", page_errors.on_console)
    opened.on("pageerror", page_errors.on_page_error)
    yield opened
    context.close()
    unexpected = page_errors.unexpected()
    assert not unexpected, "the page reported errors:\n" + "\n".join(unexpected)


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Page, str], Path]:
    """``shoot(page, name)``: the viewport as PNG; also docs/ui/NAME.png with CORRAL_UI_SHOTS=1."""

    def take(page: Page, name: str) -> Path:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ValueError(f"screenshot name {name!r}: use lower-case letters, digits and -")
        path = tmp_path / f"{name}.png"
        # Let web fonts and the last paint land, so the picture is what a user sees.
        page.evaluate("document.fonts.ready.then(() => true)")
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        if os.environ.get("CORRAL_UI_SHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / path.name).write_bytes(path.read_bytes())
        return path

    return take


SERIOUS = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in SERIOUS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            target = ", ".join(str(t) for t in node["target"])
            lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1]}")
    return "\n".join(lines)


@pytest.fixture
def axe_check() -> Callable[[Page], None]:
    """``axe_check(page)``: fail on serious or critical accessibility violations."""

    def check(page: Page) -> None:
        found = axe_violations(page)
        assert not found, (
            f"axe-core found {len(found)} serious/critical violations on {page.url}:\n"
            + describe_violations(found)
        )

    return check


# A person's name per scope, as a user would name their token (the screenshots show it).
PEOPLE = {"read": "rita", "run": "ann", "approve": "bob", "admin": "ada"}


def log_in(page: Page, served: Served, scope: str) -> str:
    """Log the page in with a new token of ``scope``; returns the token."""
    token = served.token(scope, name=PEOPLE.get(scope, scope))
    page.goto(served.url + "/login")
    page.get_by_label(re.compile("token", re.IGNORECASE)).fill(token)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.wait_for_url(lambda url: "/login" not in url)
    return token


@pytest.fixture
def login() -> Callable[[Page, Served, str], str]:
    """``login(page, served, scope)``: log in through the form with a token of that scope."""
    return log_in

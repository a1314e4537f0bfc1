"""The real-browser fixtures (tests/browser.py) catch what they promise to catch.

Pages here are served by Playwright's request routing on a made-up origin, so no server
and no network is involved: only Chromium.
"""

from __future__ import annotations

import pytest
from browser import axe_violations

ORIGIN = "http://corral.test"
CSP = "default-src 'self'; script-src 'self'; style-src 'self'"


def serve(page, html: str, *, csp: str = CSP, script: str = "") -> None:
    """Answer ORIGIN/ with ``html`` under ``csp`` (and /app.js with ``script``), open it."""
    headers = {"Content-Security-Policy": csp} if csp else {}

    def answer(route):
        if route.request.url.endswith("/app.js"):
            route.fulfill(content_type="text/javascript", body=script, headers=headers)
        elif route.request.url.endswith("/favicon.ico"):
            route.fulfill(status=204)
        else:
            route.fulfill(status=200, content_type="text/html", body=html, headers=headers)

    page.route(ORIGIN + "/**", answer)
    page.goto(ORIGIN + "/")


GOOD = """<!doctype html><html lang="en"><head><title>ok</title></head>
<body><main><h1>Runs</h1><form><label for="t">Token</label><input id="t" name="t">
<button>Log in</button></form></main></body></html>"""


def test_a_clean_page_passes_every_check(
    page, page_errors, axe_check, shoot, tmp_path, monkeypatch
):
    monkeypatch.delenv("CORRAL_UI_SHOTS", raising=False)  # not a picture for the docs
    serve(page, GOOD)
    axe_check(page)
    shot = shoot(page, "clean")
    assert shot == tmp_path / "clean.png"
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert page.viewport_size == {"width": 1280, "height": 800}
    assert page_errors.errors == []


def wait_for_error(page, page_errors, text: str) -> None:
    """The console and CSP reports arrive asynchronously: a bounded poll for one."""
    for _ in range(50):
        if any(text in e for e in page_errors.errors):
            return
        page.wait_for_timeout(100)


def test_an_inline_script_is_reported_as_a_csp_violation(page, page_errors):
    serve(page, GOOD.replace("</main>", "</main><script>document.title = 'x'</script>"))
    wait_for_error(page, page_errors, "CSP violation: script-src")
    assert any("CSP violation: script-src" in e for e in page_errors.errors), page_errors.errors
    assert page.title() == "ok"  # the script was refused
    page_errors.allow("script-src")
    page_errors.allow("Content Security Policy")


def test_a_script_error_is_collected(page, page_errors):
    page_with_script = GOOD.replace("</main>", '</main><script src="/app.js"></script>')
    serve(page, page_with_script, script="null.boom();")
    wait_for_error(page, page_errors, "uncaught:")
    assert any(e.startswith("uncaught:") for e in page_errors.errors), page_errors.errors
    page_errors.allow("uncaught:")


def test_axe_reports_an_unlabelled_field(page):
    serve(page, GOOD.replace('<label for="t">Token</label>', ""))
    found = axe_violations(page)
    assert [v["id"] for v in found] == ["label"]


def test_a_bad_screenshot_name_is_refused(page, shoot):
    serve(page, GOOD)
    with pytest.raises(ValueError, match="lower-case"):
        shoot(page, "Runs Page")

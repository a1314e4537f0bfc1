"""The web UI's login, session cookie, CSRF, origin and scope checks, and its headers."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from served import Served
from ui_client import csrf_of, logged_in, ui_client

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def test_logged_out_pages_redirect_to_login_and_login_leads_back(served: Served) -> None:
    served.start()
    with ui_client(served) as browser:
        answer = browser.get("/runs/abc?x=1")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fruns%2Fabc%3Fx%3D1"
        form = browser.get("/login?next=/runs/abc")
        assert form.status_code == 200
        assert 'name="token"' in form.text
        assert 'value="/runs/abc"' in form.text
        wrong = browser.post("/login", data={"token": "corral_nope_x", "next": "/"})
        assert wrong.status_code == 401
        assert "Unknown or revoked token" in wrong.text
        assert "corral_session" not in browser.cookies
        token = served.token("read", "ann")
        good = browser.post("/login", data={"token": token, "next": "/?status=failed"})
        assert good.status_code == 303
        assert good.headers["location"] == "/?status=failed"
        cookie = good.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "max-age=43200" in cookie
        assert "secure" not in cookie  # plain HTTP on loopback: a Secure cookie would not come back
        assert token not in good.headers["set-cookie"]  # the cookie names the token, not its text
        home = browser.get("/")
        assert home.status_code == 200
        assert "token:ann" in home.text
        assert "Log out" in home.text
        # An address elsewhere is never where a login leads.
        for elsewhere in ("//evil.example/", "/\t/evil.example", "/\\evil.example", "https://x"):
            answer = browser.get("/login", params={"next": elsewhere})
            assert answer.headers["location"] == "/", elsewhere


def test_logout_ends_the_session(served: Served) -> None:
    served.start()
    with logged_in(served, "read") as browser:
        page = browser.get("/")
        out = browser.post("/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
        assert browser.get("/").status_code == 303


def test_a_revoked_token_ends_its_session_and_a_session_survives_a_restart(served: Served) -> None:
    served.start()
    with logged_in(served, "read", "temp") as browser:
        assert browser.get("/").status_code == 200
        served.stop()
        served.start()
        assert browser.get("/").status_code == 200, "the session outlives a restart"
        key = Path(served.project.env["CORRAL_HOME"]) / "ui-session.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        listed = served.project.run("token", "list", "--json")
        token_id = next(t["id"] for t in json.loads(listed.stdout) if t["name"] == "temp")
        assert served.project.run("token", "revoke", token_id).exit_code == 0
        answer = browser.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


def test_ui_pages_carry_the_security_headers_and_no_inline_script(served: Served) -> None:
    served.start()
    with logged_in(served, "read") as browser:
        for path in ("/", "/login"):
            answer = browser.get(path)
            assert answer.headers["content-security-policy"] == CSP
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "same-origin"
            assert "<script>" not in answer.text
            assert "style=" not in answer.text
        assert browser.get("/static/corral.css").headers["x-content-type-options"] == "nosniff"
        assert browser.get("/static/htmx.min.js").status_code == 200
        # The API keeps its own answers: no UI page, no redirect to a login form.
        assert browser.get("/api/v1/runs").status_code == 401


def test_a_post_without_the_csrf_field_or_from_elsewhere_is_refused(served: Served) -> None:
    served.project.write("site.yml", "- hosts: all\n  gather_facts: false\n  tasks: []\n")
    served.start()
    with logged_in(served, "run") as browser:
        csrf = csrf_of(browser.get("/").text)
        missing = browser.post("/logout", data={})
        assert missing.status_code == 403
        assert "CSRF token is missing or stale" in missing.text
        wrong = browser.post("/logout", data={"csrf": "x" * 32})
        assert wrong.status_code == 403
        elsewhere = browser.post(
            "/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403
        assert "Origin check" in elsewhere.text
        assert browser.get("/").status_code == 200, "still logged in after the refusals"
        huge = browser.post("/logout", data={"csrf": csrf, "pad": "x" * 300_000})
        assert huge.status_code == 413
        assert "too large" in huge.text
        login_elsewhere = ui_client(served).post(
            "/login", data={"token": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert login_elsewhere.status_code == 403


def test_a_scope_too_small_gets_a_page_naming_the_scope_needed(served: Served) -> None:
    served.start()
    with logged_in(served, "read") as browser:
        csrf = csrf_of(browser.get("/").text)
        answer = browser.post("/runs/no-such-run/cancel", data={"csrf": csrf})
        assert answer.status_code == 403
        assert "This needs a token of scope run; yours is read" in answer.text
        assert answer.headers["content-security-policy"] == CSP


def test_the_session_cookie_is_secure_over_tls(served: Served, tmp_path: Path) -> None:
    served.start_tls(tmp_path)
    with ui_client(served) as browser:
        answer = browser.post("/login", data={"token": served.token("read"), "next": "/"})
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()
        assert browser.get("/").status_code == 200

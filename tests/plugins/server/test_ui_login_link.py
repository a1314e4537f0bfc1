"""The one-time login link ``corral serve --login-link`` prints: one address to the UI."""

from __future__ import annotations

import re
import subprocess
import sys

from served import Served
from ui_client import ui_client


def _link(served: Served) -> str:
    found = re.search(
        r"log in: (http://\S+/login/link\?code=\S+) \(once, 15 minutes\)", served.output()
    )
    assert found, served.output()
    return found.group(1)


def test_the_printed_link_logs_in_once_as_an_admin_token(served: Served) -> None:
    served.start("--login-link")
    link = _link(served)
    assert link.startswith(f"{served.url}/login/link?code=")
    with ui_client(served) as browser:
        opened = browser.get(link)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/"
        home = browser.get("/")
        assert home.status_code == 200
        assert "token:login-link" in home.text
    with ui_client(served) as other:  # the same link a second time: spent
        again = other.get(link)
        assert again.status_code == 401
        assert "used already" in again.text
        assert other.get("/").status_code == 303  # not logged in
        wrong = other.get(link.rsplit("=", 1)[0] + "=not-the-code")
        assert wrong.status_code == 401
    tokens = subprocess.run(
        [sys.executable, "-m", "corral", "token", "list"],
        cwd=served.project.path, env=served.env, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout  # fmt: skip
    assert re.search(r"login-link\s+admin", tokens), tokens


def test_no_link_is_printed_when_the_output_is_not_a_terminal(served: Served) -> None:
    served.start()  # its output goes to a file, as a service's goes to its journal
    assert "/login/link" not in served.output()
    with ui_client(served) as browser:
        assert browser.get("/login/link", params={"code": "x"}).status_code == 401

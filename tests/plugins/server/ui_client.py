"""Helpers for the web UI's tests: a browser-like httpx client logged in with a token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from served import Served

__all__ = ["csrf_of", "logged_in", "ui_client"]


def ui_client(served: Served) -> httpx.Client:
    """A client as a browser is: cookies kept, redirects not followed, our own Origin sent."""
    return httpx.Client(
        base_url=served.url,
        timeout=30,
        verify=served.verify,
        headers={"Origin": served.url},
        follow_redirects=False,
    )


@contextmanager
def logged_in(served: Served, scope: str = "run", name: str = "") -> Iterator[httpx.Client]:
    """A UI client logged in with a new token of ``scope``."""
    with ui_client(served) as client:
        answer = client.post("/login", data={"token": served.token(scope, name), "next": "/"})
        assert answer.status_code == 303, answer.text
        yield client


def csrf_of(page: str) -> str:
    """The hidden ``csrf`` field of a page's forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no csrf field on the page"
    return found.group(1)

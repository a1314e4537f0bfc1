"""A page's one-line notice after a button: POST, redirect with ``?notice=KEY``, GET.

The address carries a key, never the text, so a link cannot make a page say anything
but one of its own notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

__all__ = ["back", "notice"]


def back(path: str, key: str) -> Response:
    """Back to ``path`` (303: the browser GETs it), to show the notice ``key``."""
    return RedirectResponse(f"{path}?" + urlencode({"notice": key}), status_code=303)


def notice(request: Request, notices: Mapping[str, str]) -> str:
    """The notice the address asks for, or "" (an unknown key shows nothing)."""
    return notices.get(request.query_params.get("notice", ""), "")

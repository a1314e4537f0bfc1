"""Logging in to the web UI, and what guards each page: session, scope, CSRF, origin.

``POST /login`` checks a token (as the API does, :func:`~corral_plugins.server.tokens.check_token`)
and sets a session cookie signed with itsdangerous. The cookie holds the token's *id*
and a per-session CSRF secret, never the token's text; every request looks the id up in
the store again, so a revoked token ends its sessions at once and a changed scope counts
at once. The signing key is a 0600 file next to the store (``ui-session.key``), made on
first use, so sessions outlive a server restart. Sessions last 12 hours.

A page depends on :func:`page` (a GET) or :func:`form_post` (a POST from one of our
forms): logged out is a 303 to ``/login?next=...``; a scope too small is a 403 page
naming the scope needed; a POST must carry the session's ``csrf`` field and come from
our own origin (``Origin``, else ``Referer``), or it is refused with 403.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from corral_plugins.server.daemon import Server

__all__ = [
    "COOKIE",
    "Refused",
    "Viewer",
    "form_post",
    "page",
    "read_form",
    "safe_next",
    "server_of",
    "session_cookie",
    "viewer_of",
]

COOKIE = "corral_session"
MAX_AGE = 12 * 3600  # seconds a session lasts
KEY_FILE = "ui-session.key"
FORM_LIMIT = 256 * 1024  # bytes: our forms are small; a bigger body is not read
_key_lock = threading.Lock()


@dataclass
class Viewer:
    """Who is looking at a page: the session's token and its CSRF secret."""

    token_id: str
    name: str
    scope: str
    csrf: str
    form: FormData | None = field(default=None, repr=False)  # a POST's fields, once checked

    @property
    def label(self) -> str:
        """How runs, approvals and the audit record this user (as the API does)."""
        return f"token:{self.name or self.token_id}"


class Refused(Exception):
    """A page's early answer (a redirect to log in, a 403 page); the UI's routes return it."""

    def __init__(self, response: Callable[[Request], Response]) -> None:
        super().__init__("refused")
        self.response = response


def server_of(request: Request) -> Server:
    """The :class:`Server` a UI request is answered by (every page module's way to it)."""
    server: Server = request.app.state.server
    return server


def _key(server: Server) -> bytes:
    """The session signing key: read, or made (0600) on first use."""
    from corral.store.db import store_path

    path: Path = store_path(server.environ).parent / KEY_FILE
    with _key_lock:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        try:  # O_EXCL: two servers starting at once keep one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key


def _serializer(request: Request) -> Any:
    from itsdangerous import URLSafeTimedSerializer

    state = request.app.state
    serializer = getattr(state, "ui_serializer", None)
    if serializer is None:
        serializer = URLSafeTimedSerializer(_key(server_of(request)), salt="corral-ui-session")
        state.ui_serializer = serializer
    return serializer


def session_cookie(request: Request, response: Response, token_id: str) -> None:
    """Start a session for ``token_id`` on ``response`` (a fresh CSRF secret)."""
    value = _serializer(request).dumps({"id": token_id, "csrf": secrets.token_urlsafe(24)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def viewer_of(request: Request) -> Viewer | None:
    """The logged-in viewer of a request; None without a valid, unexpired, unrevoked session."""
    from itsdangerous import BadSignature

    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        data = _serializer(request).loads(value, max_age=MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    row = (
        server_of(request)
        .store()
        .conn.execute("SELECT name, scope, revoked FROM tokens WHERE id = ?", (data["id"],))
        .fetchone()
    )
    if row is None or row[2] is not None:
        return None
    viewer = Viewer(token_id=data["id"], name=row[0], scope=row[1], csrf=str(data.get("csrf")))
    request.state.viewer = viewer
    return viewer


def safe_next(target: str | None) -> str:
    """A ``next`` address to go back to: a path on this server, else ``/``.

    Browsers drop tabs and newlines from addresses and read ``\\`` as ``/``, so
    ``/\t/evil.example`` would lead elsewhere: any control character, space or
    backslash makes it ``/``.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(ch <= " " or ch in "\\\x7f" for ch in target):
        return "/"
    return target


def _login_redirect(request: Request) -> Response:
    # After logging in the browser GETs ``next``: a form's address would not answer a GET.
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        here = "/"
    return RedirectResponse("/login?next=" + quote(here, safe=""), status_code=303)


def _allowed(request: Request, scope: str) -> Viewer:
    from corral_plugins.server.tokens import scope_allows

    viewer = viewer_of(request)
    if viewer is None:
        raise Refused(_login_redirect)
    if not scope_allows(viewer.scope, scope):
        raise Refused(
            lambda req: _forbidden(
                req,
                f"This needs a token of scope {scope}; "
                f"yours is {viewer.scope}. Log in with a token "
                f"of scope {scope} or higher.",
            )
        )
    return viewer


def _forbidden(request: Request, message: str, status_code: int = 403) -> Response:
    from corral_plugins.server.ui.render import render

    return render(request, "refused.html", status_code=status_code, message=message)


def page(scope: str) -> Callable[[Request], Viewer]:
    """A dependency for a page (GET): the viewer, when logged in with ``scope`` or more."""

    def guard(request: Request) -> Viewer:
        return _allowed(request, scope)

    return guard


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this server (``Origin``, else ``Referer``)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    host = request.headers.get("host", "")
    return parts.scheme == request.url.scheme and parts.netloc.lower() == host.lower()


async def read_form(request: Request) -> FormData:
    """The fields of a form's POST; one larger than :data:`FORM_LIMIT` is refused (413)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > FORM_LIMIT:
        raise Refused(
            lambda req: _forbidden(
                req,
                f"This form is too large (over {FORM_LIMIT // 1024} KiB) or has no length.",
                status_code=413,
            )
        )
    return await request.form()


def form_post(scope: str) -> Callable[[Request], Awaitable[Viewer]]:
    """A dependency for a form's POST: logged in with ``scope``, same origin, right ``csrf``.

    The form's fields are on the returned viewer's ``form``.
    """

    async def guard(request: Request) -> Viewer:
        from starlette.concurrency import run_in_threadpool

        viewer = await run_in_threadpool(_allowed, request, scope)  # reads the store
        if not same_origin(request):
            raise Refused(
                lambda req: _forbidden(
                    req,
                    "This form was not sent from this server's pages (Origin check). "
                    "Open the page again and resend it.",
                )
            )
        form = await read_form(request)
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, viewer.csrf):
            raise Refused(
                lambda req: _forbidden(
                    req,
                    "This form's CSRF token is missing or stale. "
                    "Open the page again and resend it.",
                )
            )
        viewer.form = form
        return viewer

    return guard

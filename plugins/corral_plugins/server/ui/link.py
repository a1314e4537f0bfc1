"""The one-time login link ``corral serve`` prints at start, for whoever is at its terminal.

A new user types ``corral serve`` and opens one address: no token to make first. The
link holds a random code, kept by the server (its sha256, never the code) in memory only:
it works once, for 15 minutes, and not after a restart. Opening it makes a token named
``login-link`` with the ``admin`` scope (the person at the server's terminal can make
one anyway), starts a session for it, and lands on the runs page; ``corral token
revoke`` ends it like any token. ``--no-login-link`` turns it off; by default it is
printed only when the server's output is a terminal, so a service's journal holds none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import session_cookie

__all__ = ["LIFETIME", "LoginLinks", "router"]

LIFETIME = 15 * 60  # seconds a printed link works
router = ui_router()


class LoginLinks:
    """The codes of the login links printed, each good once until it expires."""

    def __init__(self, lifetime: float = LIFETIME) -> None:
        self.lifetime = lifetime
        self._codes: dict[str, float] = {}  # sha256 of a code -> when it expires
        self._lock = threading.Lock()

    def issue(self) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[_digest(code)] = time.monotonic() + self.lifetime
        return code

    def redeem(self, code: str) -> bool:
        """True once for a code issued less than ``lifetime`` ago; it is spent either way."""
        digest, now = _digest(code), time.monotonic()
        with self._lock:
            for known in list(self._codes):
                if hmac.compare_digest(known, digest):
                    return self._codes.pop(known) > now
        return False


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@router.get("/login/link")
def login_link(request: Request, code: str = "") -> Response:
    """Spend the code of a printed login link: a session of a new ``admin`` token."""
    from corral_plugins.server.tokens import create_token

    links: LoginLinks | None = getattr(request.app.state, "login_links", None)
    if links is None or not code or not links.redeem(code):
        return render(
            request,
            "login.html",
            status_code=401,
            next="/",
            error="This login link was used already, has expired or is from before a restart: "
            "restart corral serve for a new one, or log in with a token.",
        )
    token_id, _text = create_token(request.app.state.server.store(), "admin", "login-link")
    response = RedirectResponse("/", status_code=303)
    session_cookie(request, response, token_id)
    return response

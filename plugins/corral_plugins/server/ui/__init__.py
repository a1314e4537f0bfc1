"""The web UI of ``corral serve``: server-rendered pages at the server's root (``/``).

:func:`install` adds the UI's routes and its static files to the app; ``make_app``
calls it before the catch-all webhook route, so the UI's POSTs are not taken for
webhook deliveries. Modules: ``session.py`` (login cookie, scope and CSRF guards),
``render.py`` (Jinja2 and the security headers), ``login.py``, ``runs.py`` (the runs
list and a run's live and finished view), ``audit.py`` (what UI users changed),
``approvals.py`` (the inbox), ``playbooks.py`` (params form, check, plan, start),
``triggers.py`` (triggers and their switch, locks), ``stats.py`` (plots), ``notices.py``
(the one-line notice a page shows after a button).

How another page module adds its pages::

    from fastapi import Depends, Request
    from fastapi.responses import RedirectResponse, Response

    from corral_plugins.server.ui.audit import record
    from corral_plugins.server.ui.render import render, ui_router
    from corral_plugins.server.ui.session import Viewer, form_post, page

    router = ui_router()  # UI routes: security headers, refusals as pages, not in OpenAPI

    @router.get("/approvals")
    def approvals(request: Request, viewer: Viewer = Depends(page("read"))) -> Response:
        return render(request, "approvals.html", items=[...])  # extends "base.html"

    @router.post("/approvals/{key}/approve")
    def approve(request: Request, key: str,
                viewer: Viewer = Depends(form_post("approve"))) -> Response:
        comment = viewer.form.get("comment")  # the fields, after the CSRF and origin checks
        record(request, viewer, "approve", {"approval": key}, run_id=...)
        return RedirectResponse("/approvals", status_code=303)

then list the module in :data:`PAGE_MODULES` below. ``page(scope)`` sends a logged-out
visitor to ``/login?next=...`` and shows a 403 page naming the scope when the token's
is too small; ``form_post(scope)`` also checks the same origin and the form's hidden
``csrf`` field (every form has ``<input type="hidden" name="csrf" value="{{ csrf }}">``).
Templates live in ``ui/templates`` and extend ``base.html`` (blocks ``title``,
``main``); no inline script or style (the CSP forbids them): CSS goes in
``static/corral.css``, scripts in ``static/*.js``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["PAGE_MODULES", "install"]

# Each module has a ``router`` (from ``render.ui_router()``), included in this order.
PAGE_MODULES = (
    "corral_plugins.server.ui.login",
    "corral_plugins.server.ui.runs",
    "corral_plugins.server.ui.approvals",
    "corral_plugins.server.ui.playbooks",
    "corral_plugins.server.ui.triggers",
    "corral_plugins.server.ui.stats",
)


def install(app: FastAPI) -> None:
    """Add the UI's pages and static files (``/static``) to ``app``."""
    from pathlib import Path

    from starlette.staticfiles import StaticFiles
    from starlette.types import Receive, Scope, Send

    from corral_plugins.server.ui.render import SECURITY_HEADERS

    class Static(StaticFiles):
        """Our CSS and scripts, with the UI's security headers."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def send_with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                    message["headers"] = [*message.get("headers", []), *extra]
                await send(message)

            await super().__call__(scope, receive, send_with_headers)

    for name in PAGE_MODULES:
        app.include_router(importlib.import_module(name).router)
    static = Path(__file__).parent / "static"
    app.mount("/static", Static(directory=static), name="static")

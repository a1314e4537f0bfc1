"""Rendering the UI's pages: one Jinja2 environment (autoescaped), the security headers.

Every UI route is made by :func:`ui_router`'s router, whose route class adds the
security headers and a ``Server-Timing`` header to each answer (the page, a redirect,
a refusal) and turns a :class:`~corral_plugins.server.ui.session.Refused` raised by a
guard into its answer.
The API's routes are untouched: they keep their own JSON errors, and ``/docs`` its scripts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    import jinja2

__all__ = ["SECURITY_HEADERS", "UIRoute", "render", "ui_router"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
NAV = (
    ("/", "Runs"),
    ("/approvals", "Approvals"),
    ("/playbooks", "Playbooks"),
    ("/triggers", "Triggers"),
    ("/locks", "Locks"),
    ("/stats", "Stats"),
)


class UIRoute(APIRoute):
    """A UI route: security headers on every answer; a guard's refusal becomes its page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        from corral_plugins.server.ui.session import Refused

        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except Refused as refusal:
                response = refusal.response(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers.setdefault("Cache-Control", "no-store")
            # What the page took to make (the store's reads and the template), for the
            # browser's developer tools and bench/bench_ui.py; streams: until their start.
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
            return response

        return answer


def ui_router() -> APIRouter:
    """A router for UI pages: kept out of the API's OpenAPI document, with :class:`UIRoute`."""
    return APIRouter(route_class=UIRoute, include_in_schema=False)


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    from corral_plugins.history.display import format_duration, format_time

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("corral_plugins.server.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = format_time
    env.filters["duration"] = format_duration
    env.globals["nav"] = NAV
    return env


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Response:
    """The page ``template`` (in ``ui/templates``) with ``context``, autoescaped.

    Every template gets ``viewer`` (None when logged out), ``csrf`` (the session's secret,
    for the hidden field of each form), ``path`` (for the nav's current page).
    """
    from corral import __version__
    from corral_plugins.server.ui.session import viewer_of

    viewer = viewer_of(request)
    text = (
        _environment()
        .get_template(template)
        .render(
            viewer=viewer,
            csrf=viewer.csrf if viewer else "",
            path=request.url.path,
            version=__version__,
            **context,
        )
    )
    return HTMLResponse(text, status_code=status_code)

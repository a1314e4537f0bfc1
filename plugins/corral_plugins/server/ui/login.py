"""``/login`` and ``/logout``: a token in, a session cookie out (see ``session.py``)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import (
    COOKIE,
    Viewer,
    form_post,
    read_form,
    safe_next,
    same_origin,
    session_cookie,
    viewer_of,
)

__all__ = ["router"]

router = ui_router()


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The login form (or straight on, when already logged in)."""
    if viewer_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error="")


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success set the session cookie and go to ``next``."""
    from starlette.concurrency import run_in_threadpool

    from corral_plugins.server.tokens import check_token

    form = await read_form(request)
    target = safe_next(str(form.get("next") or "/"))
    if not same_origin(request):
        return render(
            request,
            "login.html",
            status_code=403,
            next=target,
            error="This form was not sent from this server's login page; open it and try again.",
        )
    text = str(form.get("token") or "").strip()
    server = request.app.state.server
    found = await run_in_threadpool(lambda: check_token(server.store(), text) if text else None)
    if found is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=target,
            error="Unknown or revoked token: make one with 'corral token create --scope read'.",
        )
    response = RedirectResponse(target, status_code=303)
    session_cookie(request, response, found.token_id)
    return response


@router.post("/logout")
def logout(request: Request, _viewer: Viewer = Depends(form_post("read"))) -> Response:  # noqa: B008
    """End the session: the cookie is dropped (the token itself stays valid)."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response

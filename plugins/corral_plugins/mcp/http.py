"""``/mcp`` under ``corral serve``: the MCP tools over streamable HTTP, with the API's tokens.

Every request to ``/mcp`` needs a bearer token allowing ``read`` (checked by the API's
own :func:`~corral_plugins.server.auth.needs`: 401 without one, 403 when too small).
Which tools act then follows the token's scope, as in the API: ``run``, ``cancel`` and
``resume`` need ``run`` (and a playbook matching ``--mcp-playbooks``),
``answer_approval`` needs ``approve``. Runs go to the server's queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from fastapi import FastAPI
    from mcp.server.mcpserver import Context
    from starlette.types import ASGIApp, Receive, Scope, Send

    from corral_plugins.mcp.ops import Caller
    from corral_plugins.server.daemon import Server

__all__ = ["mount_mcp"]


def mount_mcp(app: FastAPI, server: Server, playbooks: str) -> AbstractAsyncContextManager[Any]:
    """Add the ``/mcp`` route to ``app``; returns what must run while the app serves
    (the SDK's session manager: enter it in the app's lifespan)."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.routing import Route

    from corral_plugins.mcp.backend import InServer
    from corral_plugins.mcp.tools import Calls, build_server

    def caller_of(ctx: Context) -> Caller:
        return http_caller(ctx, playbooks)

    mcp = build_server(Calls(InServer(server), caller_of))
    # The SDK's DNS-rebinding guard is for servers without auth: here a page in a browser
    # cannot send the bearer token every request needs, and --bind may be any address.
    mcp.streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    endpoint = _TokenGate(StreamableHTTPASGIApp(mcp.session_manager))
    app.router.routes.append(Route("/mcp", endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    return mcp.session_manager.run()


class _TokenGate:
    """An ASGI wrapper: the request's token must allow ``read``; its identity is kept in
    the request's state for the tools (``http_caller``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from fastapi import HTTPException, Request
        from fastapi.responses import JSONResponse
        from starlette.concurrency import run_in_threadpool

        from corral_plugins.server.auth import needs

        try:
            identity = await run_in_threadpool(needs("read"), Request(scope))
        except HTTPException as exc:
            response = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["corral_identity"] = identity
        await self.app(scope, receive, send)


def http_caller(ctx: Context, playbooks: str) -> Caller:
    """The caller over HTTP: what the token's scope allows, named by client and token."""
    from corral_plugins.mcp.ops import Caller
    from corral_plugins.mcp.tools import client_name
    from corral_plugins.server.tokens import scope_allows

    request = ctx.request_context.request
    assert request is not None, "/mcp is served over HTTP only"
    identity = request.scope["state"]["corral_identity"]
    name = client_name(ctx) or "unnamed client"
    scope = identity.scope
    return Caller(
        client=f"{name} ({identity.label})",
        label=identity.label,
        allow_run=scope_allows(scope, "run"),
        playbooks=playbooks,
        allow_approve=scope_allows(scope, "approve"),
        why_not_run=(
            f"this token's scope is {scope}; run is needed to start, cancel or resume runs",
            "use a token made with corral token create --scope run",
        ),
        why_not_approve=(
            f"this token's scope is {scope}; approve is needed to answer approvals",
            "use a token made with corral token create --scope approve",
        ),
    )

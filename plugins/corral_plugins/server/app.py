"""The HTTP side of ``corral serve``: the API under ``/api/v1``, webhooks, health, metrics.

:func:`make_app` builds a FastAPI application around a started
:class:`~corral_plugins.server.daemon.Server`. Routes are plain (sync) functions: FastAPI
runs them in its thread pool, where each thread keeps its own store connection.
``/healthz`` needs no token; everything under ``/api/v1`` and ``/metrics`` does (see
``auth.py``); a webhook's path is answered by its trigger's receiver, which checks the
delivery's signature instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from corral_plugins.server.auth import needs, scope_extra

if TYPE_CHECKING:
    from corral_plugins.server.daemon import Server

__all__ = ["make_app"]


def make_app(server: Server) -> FastAPI:
    """The application; the caller starts ``server`` and shuts it down."""
    from corral import __version__
    from corral_plugins.server import api_project, api_runs

    app = FastAPI(
        title="corral",
        version=__version__,
        description="Run, follow, cancel and approve the playbooks of a corral project.",
        openapi_tags=[
            {"name": "playbooks", "description": "The project's playbooks and their params."},
            {"name": "runs", "description": "Runs: start, follow, cancel, pause, resume."},
            {"name": "approvals", "description": "Approvals runs are waiting for."},
            {"name": "server", "description": "Triggers, locks, health and metrics."},
        ],
    )
    app.state.server = server
    app.include_router(api_project.router, prefix="/api/v1")
    app.include_router(api_runs.router, prefix="/api/v1")

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, Any]:
        """Whether the server is up, with its queue at a glance (no token needed)."""
        store = server.store()
        queued = store.conn.execute("SELECT count(*) FROM runs WHERE status = 'queued'")
        return {
            "status": "ok",
            "running": len(server.running()),
            "queued": queued.fetchone()[0],
            "playbooks": len(server.project.served),
            "broken_playbooks": sorted(server.project.errors),
        }

    @app.get(
        "/metrics",
        tags=["server"],
        response_class=PlainTextResponse,
        openapi_extra=scope_extra("read"),
    )
    def metrics(_who: Any = Depends(needs("read"))) -> str:  # noqa: B008 - FastAPI's idiom
        """Prometheus text: runs by status, durations, trigger fires, queue depth."""
        from corral_plugins.server.metrics import metrics_text

        return metrics_text(server)

    from corral_plugins.server import ui

    ui.install(app)  # the web UI at "/"; before the webhooks' catch-all, which takes any POST

    @app.post("/{path:path}", include_in_schema=False)
    async def webhook(path: str, request: Request) -> Response:
        """A delivery to a webhook trigger's path (any other path: 404)."""
        from starlette.concurrency import run_in_threadpool

        hook = server.hooks.get("/" + path)
        if hook is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        body = await _read_body(request, limit=_body_limit(hook))
        if body is None:
            server.counters.count(server.counters.deliveries, 413)
            return JSONResponse({"detail": "body too large"}, status_code=413)
        from corral_plugins.server.hooks import deliver

        return await run_in_threadpool(deliver, server, hook, request, body, time.time())

    return app


def _body_limit(hook: Any) -> int:
    return int(hook.entry.args.get("max_body") or 1024 * 1024)


async def _read_body(request: Request, *, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

"""``/api/v1/runs``: list, get, start, cancel, pause, continue, resume, follow, logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from corral_plugins.server.auth import needs, scope_extra

if TYPE_CHECKING:
    from corral.store.db import Store
    from corral_plugins.server.daemon import Server
    from corral_plugins.server.tokens import Identity

__all__ = ["event_stream", "router"]

router = APIRouter(tags=["runs"])
READ, RUN = needs("read"), needs("run")
ENDED = ("succeeded", "failed", "cancelled", "interrupted")


def _server(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


def _run(store: Store, ref: str) -> dict[str, Any]:
    from corral.errors import UsageError

    try:
        return store.resolve_run(ref)
    except UsageError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/runs", openapi_extra=scope_extra("read"))
def list_runs(
    request: Request,
    status: str | None = None,
    playbook: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    _who: Identity = Depends(READ),  # noqa: B008 - FastAPI's idiom
) -> list[dict[str, Any]]:
    """The latest runs, newest first; filter by status and playbook (a glob)."""
    from corral.store.queries import history

    return history(_server(request).store(), playbook=playbook, status=status, limit=limit)


@router.get("/runs/{run}", openapi_extra=scope_extra("read"))
def get_run(request: Request, run: str, _who: Identity = Depends(READ)) -> dict[str, Any]:  # noqa: B008
    """One run: its record, recap, failures and slowest tasks (as ``corral show --json``)."""
    from corral.store.queries import run_summary

    store = _server(request).store()
    return run_summary(store, _run(store, run)["id"])


@router.post("/runs", status_code=202, openapi_extra=scope_extra("run"))
def start_run(
    request: Request,
    playbook: str = Body(..., embed=True),
    params: dict[str, Any] = Body(default_factory=dict, embed=True),  # noqa: B008
    who: Identity = Depends(RUN),  # noqa: B008
) -> dict[str, Any]:
    """Queue a run of a served playbook with these params (checked first: 422 if wrong)."""
    from corral.errors import CorralError
    from corral.playbook.params import resolve_params

    server = _server(request)
    served = server.served(playbook)
    if served is None:
        raise HTTPException(404, f"no playbook {playbook!r} is served; see GET /api/v1/playbooks")
    try:
        resolve_params(served.params, params)
    except CorralError as exc:
        raise HTTPException(422, str(exc)) from None
    queued = server.start_run(playbook, params, started_by=who.label)
    return {"run_id": queued.run_id, "status": "queued"}


@router.post("/runs/{run}/cancel", openapi_extra=scope_extra("run"))
def cancel_run(
    request: Request,
    run: str,
    grace: float | None = Body(None, embed=True, ge=0),
    now: bool = Body(False, embed=True),
    who: Identity = Depends(RUN),  # noqa: B008
) -> dict[str, Any]:
    """Wind the run down: running units finish (or are killed after ``grace`` seconds),
    ``always`` sections, due handlers and rollbacks run, and it ends ``cancelled``.
    ``now``: abort at once, with no cleanup (as Ctrl-C twice)."""
    from corral.store.control import request_cancel

    def ask(store: Store, run_id: str) -> Any:
        return request_cancel(store, run_id, by=who.label, grace=None if now else grace, now=now)

    return _control(request, run, ask)


@router.post("/runs/{run}/pause", openapi_extra=scope_extra("run"))
def pause_run(request: Request, run: str, who: Identity = Depends(RUN)) -> dict[str, Any]:  # noqa: B008
    """Hold new units at the next task boundary (running ones finish)."""
    from corral.store.control import request_pause

    return _control(request, run, lambda store, run_id: request_pause(store, run_id, by=who.label))


@router.post("/runs/{run}/continue", openapi_extra=scope_extra("run"))
def continue_run(request: Request, run: str, who: Identity = Depends(RUN)) -> dict[str, Any]:  # noqa: B008
    """Let a paused run go on."""
    from corral.store.control import request_continue

    return _control(
        request, run, lambda store, run_id: request_continue(store, run_id, by=who.label)
    )


def _control(request: Request, ref: str, ask: Any) -> dict[str, Any]:
    from corral.errors import UsageError

    server = _server(request)
    store = server.store()
    run_id = _run(store, ref)["id"]
    try:
        outcome = ask(store, run_id)
    except UsageError as exc:
        raise HTTPException(409, str(exc)) from None
    server.wake()
    row = store.run_row(run_id) or {}
    return {"run_id": run_id, "status": row.get("status"), "asked": _shown(outcome)}


def _shown(outcome: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(outcome) and not isinstance(outcome, type):
        return asdict(outcome)
    return outcome


@router.post("/runs/{run}/resume", status_code=202, openapi_extra=scope_extra("run"))
def resume_run(request: Request, run: str, who: Identity = Depends(RUN)) -> dict[str, Any]:  # noqa: B008
    """Resume a failed or interrupted run in a worker (as ``corral resume RUN``)."""
    server = _server(request)
    row = _run(server.store(), run)
    if row["status"] not in ("failed", "interrupted", "cancelled"):
        raise HTTPException(
            409,
            f"run {row['id']} is {row['status']}: "
            "only failed, interrupted or cancelled runs resume",
        )
    server.resume(row["id"], started_by=who.label)
    return {"run_id": row["id"], "status": "resuming"}


@router.get("/runs/{run}/logs", response_class=PlainTextResponse, openapi_extra=scope_extra("read"))
def run_logs(request: Request, run: str, _who: Identity = Depends(READ)) -> str:  # noqa: B008
    """The run's events, one JSON object a line (as ``corral logs --json``), then the
    worker's own output when the server started it."""
    from corral.store.queries import all_events

    server = _server(request)
    store = server.store()
    run_id = _run(store, run)["id"]
    lines = [json.dumps(event, default=str) for event in all_events(store, run_id)]
    output = server.worker_output(run_id)
    if output:
        lines.append(json.dumps({"event": "worker_output", "text": output}))
    return "\n".join(lines) + "\n"


@router.get("/runs/{run}/events", openapi_extra=scope_extra("read"))
def run_events(request: Request, run: str, _who: Identity = Depends(READ)) -> StreamingResponse:  # noqa: B008
    """The run's events as server-sent events: what is stored, then each new one as it
    comes, until the run ends (the last event is its end: ``event: end``)."""
    return event_stream(request, _run(_server(request).store(), run)["id"])


def event_stream(request: Request, run_id: str) -> StreamingResponse:
    """The SSE answer following ``run_id`` (the web UI's live view uses it too)."""
    return StreamingResponse(
        _stream(_server(request), run_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(server: Server, run_id: str, request: Request) -> AsyncIterator[str]:
    from starlette.concurrency import run_in_threadpool

    seq = -1
    while True:
        events, seq, status = await run_in_threadpool(_events_after, server, run_id, seq)
        for event in events:
            data = json.dumps(event, default=str)
            yield f"event: {event.get('event', 'message')}\ndata: {data}\n\n"
        if (status in ENDED or status == "gone") and not events:  # gone: pruned meanwhile
            yield f"event: end\ndata: {json.dumps({'run_id': run_id, 'status': status})}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.25 if not events else 0)


def _events_after(server: Server, run_id: str, seq: int) -> tuple[list[dict[str, Any]], int, str]:
    """The run's events after ``seq``, the last seq seen, and the run's status (read
    first: when it is final, the events read after it include the last ones)."""
    from corral.store.queries import events_after

    store = server.store()
    row = store.run_row(run_id)
    status = row["status"] if row else "gone"
    found = events_after(store, run_id, seq)
    return [event for _, event in found], (found[-1][0] if found else seq), status

"""A webhook delivery, from request to queued run.

The trigger's receiver judges the delivery (signature, replay window, rate limit,
params mapping: ``corral_plugins.triggers.webhook``); then the server refuses it with
``423`` when the trigger is switched off, checks the params against the playbook's,
dedupes the delivery id against the store, records the fire and queues the run, and
answers ``202`` with the run id. Every refusal is a JSON ``{"detail": ...}`` with its
status, and starts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from corral import HookAnswer, HookRequest

if TYPE_CHECKING:
    from corral_plugins.server.daemon import Hook, Server

__all__ = ["deliver"]


def deliver(server: Server, hook: Hook, request: Request, body: bytes, now: float) -> Response:
    """Judge one delivery and queue its run (runs in a worker thread: it writes the store)."""
    received = HookRequest(
        path=request.url.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        received=now,
        client=request.client.host if request.client else "",
    )
    answer = hook.receive(received)
    if answer.status == 204:  # received, and nothing to run (an event not listened for)
        server.counters.count(server.counters.deliveries, 204)
        return Response(status_code=204, headers={"X-Corral-Reason": answer.reason[:200]})
    if answer.status != 202:
        return _refuse(server, answer.status, answer.reason, dict(answer.headers))
    refused = _check_params(server, hook, answer)
    if refused is not None:
        return refused
    queued = server.fire(
        hook.entry, answer.params, payload=answer.payload, delivery=answer.delivery
    )
    if queued is None:
        return _refuse(server, 503, "the server is shutting down", {"Retry-After": "30"})
    if queued.duplicate:
        return _refuse(
            server, 409, f"delivery {answer.delivery} was received already (run {queued.run_id})"
        )
    server.counters.count(server.counters.deliveries, 202)
    body_out: dict[str, Any] = {"run_id": queued.run_id or None, "fire_id": queued.fire_id}
    if not queued.run_id:
        body_out["skipped"] = "the trigger's previous run is still going (overlap: skip)"
    return JSONResponse(body_out, status_code=202)


def _check_params(server: Server, hook: Hook, answer: HookAnswer) -> Response | None:
    """A refusal when the trigger is switched off or the params the payload gave fail the
    playbook's; None when they pass."""
    from corral.errors import CorralError
    from corral.playbook.params import resolve_params
    from corral.store.switches import trigger_enabled

    if not trigger_enabled(server.store(), hook.entry.playbook, hook.entry.key):
        return _refuse(
            server,
            423,
            f"the webhook trigger of {hook.entry.playbook} is switched off: switch it on in"
            " the web UI's Triggers page or with POST /api/v1/triggers/enable",
        )
    served = server.served(hook.entry.playbook)
    if served is None:
        return _refuse(server, 404, f"{hook.entry.playbook} is not served any more")
    try:
        resolve_params(served.params, dict(answer.params))
    except CorralError as exc:
        return _refuse(server, 422, str(exc))
    return None


def _refuse(
    server: Server, status: int, reason: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    server.counters.count(server.counters.deliveries, status)
    return JSONResponse({"detail": reason}, status_code=status, headers=headers)

"""``/api/v1``: the project's playbooks, approvals waiting, triggers and locks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from corral_plugins.server.auth import needs, scope_extra

if TYPE_CHECKING:
    from corral_plugins.server.daemon import Server
    from corral_plugins.server.tokens import Identity

__all__ = ["router"]

router = APIRouter()
READ, APPROVE = needs("read"), needs("approve")


def _server(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


@router.get("/playbooks", tags=["playbooks"], openapi_extra=scope_extra("read"))
def list_playbooks(request: Request, _who: Identity = Depends(READ)) -> list[dict[str, Any]]:  # noqa: B008
    """The served playbooks: plays, params, triggers; a broken one with its error."""
    from corral_plugins.server.views import playbook_rows

    return playbook_rows(_server(request).project)


@router.get("/playbooks/{name:path}/params", tags=["playbooks"], openapi_extra=scope_extra("read"))
def playbook_params(request: Request, name: str, _who: Identity = Depends(READ)) -> dict[str, Any]:  # noqa: B008
    """The playbook's params as one JSON Schema object (what ``POST /runs`` checks)."""
    served = _server(request).served(name)
    if served is None:
        raise HTTPException(404, f"no playbook {name!r} is served")
    from corral_plugins.server.views import params_schema

    return params_schema(served.params)


@router.post("/playbooks/{name:path}/check", tags=["playbooks"], openapi_extra=scope_extra("read"))
def check_playbook(request: Request, name: str, _who: Identity = Depends(READ)) -> dict[str, Any]:  # noqa: B008
    """Load the playbook from disk now, as ``corral check`` does: ``ok`` or its error."""
    from corral.errors import CorralError
    from corral.playbook.loader import load_playbook
    from corral_plugins.server.views import playbook_file

    server = _server(request)
    path = playbook_file(server.root, name)
    if path is None:
        raise HTTPException(404, f"no playbook {name!r} in the project")
    registry = server.registry
    try:
        load_playbook(
            path, registry.steps, registry.play_keywords, server.environ, registry.triggers
        )
    except CorralError as exc:
        return {"ok": False, "error": str(exc), "hint": exc.hint}
    return {"ok": True}


@router.get("/approvals", tags=["approvals"], openapi_extra=scope_extra("read"))
def list_approvals(request: Request, _who: Identity = Depends(READ)) -> list[dict[str, Any]]:  # noqa: B008
    """Approvals that running runs are waiting for, oldest first."""
    from corral.store.approvals import waiting

    return waiting(_server(request).store())


@router.post(
    "/approvals/{approval_id}/approve", tags=["approvals"], openapi_extra=scope_extra("approve")
)
def approve(
    request: Request,
    approval_id: int,
    comment: str = Body("", embed=True),
    who: Identity = Depends(APPROVE),  # noqa: B008
) -> dict[str, Any]:
    """Approve: the run goes on. Needs the ``approve`` scope; with ``forbid_starter``,
    not the identity that started the run."""
    return _answer(request, approval_id, True, comment, who)


@router.post(
    "/approvals/{approval_id}/reject", tags=["approvals"], openapi_extra=scope_extra("approve")
)
def reject(
    request: Request,
    approval_id: int,
    comment: str = Body("", embed=True),
    who: Identity = Depends(APPROVE),  # noqa: B008
) -> dict[str, Any]:
    """Reject: the play is skipped (a play approval) or the step fails."""
    return _answer(request, approval_id, False, comment, who)


def _answer(
    request: Request, approval_id: int, approved: bool, comment: str, who: Identity
) -> dict[str, Any]:
    from corral.errors import UsageError
    from corral.store.approvals import answer

    try:
        done = answer(
            _server(request).store(), approval_id, approved=approved, by=who.label, comment=comment
        )
    except UsageError as exc:
        raise HTTPException(403, str(exc)) from None
    if not done:
        raise HTTPException(409, f"approval {approval_id} is not pending")
    return {"id": approval_id, "status": "approved" if approved else "rejected", "by": who.label}


@router.get("/triggers", tags=["server"], openapi_extra=scope_extra("read"))
def list_triggers(request: Request, _who: Identity = Depends(READ)) -> list[dict[str, Any]]:  # noqa: B008
    """Every armed trigger: kind, playbook, next fire (schedules), last fire, last run."""
    from corral_plugins.server.metrics import trigger_listing

    return trigger_listing(_server(request))


@router.get("/locks", tags=["server"], openapi_extra=scope_extra("read"))
def list_locks(request: Request, _who: Identity = Depends(READ)) -> list[dict[str, Any]]:  # noqa: B008
    """Hosts and resources leased by running runs."""
    from corral.store.leases import lease_rows

    return lease_rows(_server(request).store())

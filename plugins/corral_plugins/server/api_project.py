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
READ, RUN, APPROVE = needs("read"), needs("run"), needs("approve")


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


@router.post("/playbooks/{name:path}/plan", tags=["playbooks"], openapi_extra=scope_extra("read"))
def plan_route(
    request: Request,
    name: str,
    params: dict[str, Any] = Body(default_factory=dict, embed=True),  # noqa: B008
    _who: Identity = Depends(READ),  # noqa: B008
) -> dict[str, Any]:
    """What a run with these params would do, as ``corral plan --output json`` prints it
    (plays, hosts, batches, tasks, estimates); 422 with the error when the playbook, the
    project's inventory or the params do not pass."""
    from corral.errors import CorralError

    server = _server(request)
    if server.served(name) is None:
        raise HTTPException(404, f"no playbook {name!r} is served; see GET /api/v1/playbooks")
    try:
        return plan_playbook(server, name, params)[0]
    except CorralError as exc:
        raise HTTPException(422, str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")) from None


def plan_playbook(
    server: Server, name: str, params: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Load the served playbook ``name``, the project's inventory and ``params`` as a
    worker would (its ``ansible.cfg`` too), and plan it: the plan and its trigger lines.
    Raises :class:`~corral.errors.CorralError` for what ``corral check`` refuses."""
    from corral.ansible_cfg import load_settings
    from corral.commands.plan import make_plan
    from corral.playbook.yaml.read import mark_unsafe
    from corral_plugins.server.project import project_inventory

    plan, lines = make_plan(
        server.root / name,
        server.registry,
        server.environ,
        settings=load_settings(server.environ, server.root),
        cwd=server.root,
        inventories=project_inventory(server.root, server.environ),
        params=mark_unsafe(dict(params)),  # a caller's strings are data, never templates
        recorded_as=name,
    )
    plan["playbook"] = name  # as the project names it, not the server's own path
    return plan, lines


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


@router.post("/triggers/enable", tags=["server"], openapi_extra=scope_extra("run"))
def enable_trigger(
    request: Request,
    playbook: str = Body(..., embed=True),
    key: str = Body(..., embed=True),
    who: Identity = Depends(RUN),  # noqa: B008
) -> dict[str, Any]:
    """Switch a trigger on again (``key`` as ``GET /triggers`` lists it). Needs ``run``."""
    return switch(_server(request), playbook, key, enabled=True, by=who.label)


@router.post("/triggers/disable", tags=["server"], openapi_extra=scope_extra("run"))
def disable_trigger(
    request: Request,
    playbook: str = Body(..., embed=True),
    key: str = Body(..., embed=True),
    who: Identity = Depends(RUN),  # noqa: B008
) -> dict[str, Any]:
    """Switch a trigger off, across restarts: a schedule, file or run trigger does not
    fire (each time it would is recorded as ``disabled``), a webhook answers 423."""
    return switch(_server(request), playbook, key, enabled=False, by=who.label)


def switch(server: Server, playbook: str, key: str, *, enabled: bool, by: str) -> dict[str, Any]:
    """Switch the served trigger ``key`` of ``playbook`` on or off (404: no such trigger)."""
    from corral.store.switches import switch_trigger

    if not any(e.playbook == playbook and e.key == key for e in server.entries()):
        raise HTTPException(
            404, f"{playbook} has no trigger {key!r}; see GET /api/v1/triggers for the keys"
        )
    changed = switch_trigger(server.store(), playbook, key, enabled=enabled, by=by)
    return {"playbook": playbook, "key": key, "enabled": enabled, "changed": changed}


@router.get("/locks", tags=["server"], openapi_extra=scope_extra("read"))
def list_locks(request: Request, _who: Identity = Depends(READ)) -> list[dict[str, Any]]:  # noqa: B008
    """Hosts and resources leased by running runs."""
    from corral.store.leases import lease_rows

    return lease_rows(_server(request).store())

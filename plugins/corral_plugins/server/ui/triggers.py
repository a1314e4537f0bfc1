"""The triggers and locks pages: ``/triggers`` (each armed trigger, its next fire, its
last fires, a switch to turn it off and on) and ``/locks`` (the hosts and named locks
running runs hold).

Switching a trigger needs the ``run`` scope, as the API's ``/triggers/disable`` does
(whoever may start the playbook may keep it from starting by itself); the switch is
kept in the store, so it lasts across restarts, and each one is in the audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from corral_plugins.server.ui.notices import back, notice
from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import Viewer, form_post, page, server_of

if TYPE_CHECKING:
    pass

__all__ = ["router"]

router = ui_router()
READ, SWITCH = page("read"), form_post("run")
NOTICES = {
    "on": "Switched on: the trigger fires again.",
    "off": "Switched off: the trigger starts no run until it is switched on again.",
    "unchanged": "Nothing changed: the trigger was already that way.",
    "unknown": "Not switched: the server serves no such trigger (its playbook changed?).",
}


@router.get("/triggers")
def triggers_page(request: Request, viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """Each trigger with its next fire, its last fires, whether it is on."""
    from corral.store.queries import recent_fires
    from corral_plugins.server.metrics import trigger_listing
    from corral_plugins.server.tokens import scope_allows

    server = server_of(request)
    store = server.store()
    rows: list[dict[str, Any]] = [
        {**row, "fires": recent_fires(store, row["playbook"], row["key"])}
        for row in trigger_listing(server)
    ]
    return render(
        request,
        "triggers.html",
        triggers=rows,
        can_switch=scope_allows(viewer.scope, "run"),
        notice=notice(request, NOTICES),
    )


@router.post("/triggers/switch")
def switch(request: Request, viewer: Viewer = Depends(SWITCH)) -> Response:  # noqa: B008
    """Switch the form's trigger (``playbook``, ``key``) on or off (``enabled``)."""
    from fastapi import HTTPException

    from corral_plugins.server.api_project import switch as switch_trigger
    from corral_plugins.server.ui.audit import record

    form = viewer.form
    playbook = str(form.get("playbook") or "") if form else ""
    key = str(form.get("key") or "") if form else ""
    enabled = (str(form.get("enabled") or "") if form else "") == "true"
    action = "enable_trigger" if enabled else "disable_trigger"
    args = {"playbook": playbook, "key": key}
    try:
        done = switch_trigger(server_of(request), playbook, key, enabled=enabled, by=viewer.label)
    except HTTPException:
        record(request, viewer, action, args, outcome="refused: no such trigger")
        return back("/triggers", "unknown")
    record(request, viewer, action, args, outcome="ok" if done["changed"] else "unchanged")
    return back("/triggers", ("on" if enabled else "off") if done["changed"] else "unchanged")


@router.get("/locks")
def locks_page(request: Request, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The hosts and named locks held now: by which run, since when."""
    from corral.store.leases import lease_rows

    rows = [
        {**row, "kind": row["name"].partition(":")[0], "target": row["name"].partition(":")[2]}
        for row in lease_rows(server_of(request).store())
    ]
    return render(request, "locks.html", locks=rows)

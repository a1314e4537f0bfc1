"""The playbooks pages: ``/playbooks`` (what the project serves) and ``/playbooks/{name}``
(its params form, with Check, Plan and Start).

The form is built from the playbook's ``params:`` (``server/params_form.py``). Check and
Plan need the ``read`` scope and change nothing: they load the playbook, its inventory
and the params given as ``corral check`` and ``corral plan`` do, in the server, and show
the result on the page. Start needs ``run``: the params are checked first (a bad field
is shown next to itself, with the values kept, answered 422), then the run is queued
and the browser goes to its live page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from corral.secrets import REDACTED
from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import Viewer, form_post, page, server_of

if TYPE_CHECKING:
    from corral_plugins.server.project import Served

__all__ = ["router"]

router = ui_router()
READ, LOOK, START = page("read"), form_post("read"), form_post("run")


@router.get("/playbooks")
def playbooks_page(request: Request, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The served playbooks (plays, params, triggers) and the ones that do not load."""
    project = server_of(request).project
    served = [
        {
            "name": name,
            "plays": [play.name for play in s.playbook.plays],
            "params": len(s.params),
            "triggers": len(s.entries),
            "error": project.errors.get(name),
        }
        for name, s in sorted(project.served.items())
    ]
    broken = {n: e for n, e in sorted(project.errors.items()) if n not in project.served}
    return render(request, "playbooks.html", playbooks=served, broken=broken)


@router.get("/playbooks/{name:path}")
def playbook_page(request: Request, name: str, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The params form with its defaults."""
    from corral_plugins.server.params_form import form_fields

    served = server_of(request).served(name)
    if served is None:
        return _missing(request, name)
    return _form(request, served, form_fields(served.params))


@router.post("/playbooks/{name:path}/check")
def check(request: Request, name: str, viewer: Viewer = Depends(LOOK)) -> Response:  # noqa: B008
    """Check the playbook with the form's params, as ``corral check``."""
    return _look(request, name, viewer, "check")


@router.post("/playbooks/{name:path}/plan")
def plan(request: Request, name: str, viewer: Viewer = Depends(LOOK)) -> Response:  # noqa: B008
    """What a run with the form's params would do, as ``corral plan``."""
    return _look(request, name, viewer, "plan")


@router.post("/playbooks/{name:path}/start")
def start(request: Request, name: str, viewer: Viewer = Depends(START)) -> Response:  # noqa: B008
    """Queue a run with the form's params, then go to its live page (303)."""
    from corral_plugins.server.ui.audit import record

    server = server_of(request)
    served = server.served(name)
    if served is None:
        return _missing(request, name)
    submitted, values, problems = _submitted(served, viewer)
    args = {"playbook": name, "params": _shown(served, submitted)}
    if problems:
        record(request, viewer, "start", args, outcome="refused: invalid params")
        return _invalid(request, served, submitted, problems)
    queued = server.start_run(name, values, started_by=viewer.label)
    record(request, viewer, "start", args, run_id=queued.run_id)
    return RedirectResponse(f"/runs/{queued.run_id}", status_code=303)


def _look(request: Request, name: str, viewer: Viewer, what: str) -> Response:
    from corral.errors import CorralError
    from corral_plugins.server.api_project import plan_playbook
    from corral_plugins.server.params_form import form_fields

    server = server_of(request)
    served = server.served(name)
    if served is None:
        return _missing(request, name)
    submitted, values, problems = _submitted(served, viewer)
    if problems:
        return _invalid(request, served, submitted, problems)
    try:
        plan, lines = plan_playbook(server, name, values)
    except CorralError as exc:
        error = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
        result = {"what": what, "ok": False, "text": error}
    else:
        result = {"what": what, "ok": True, "text": _result_text(what, name, plan, lines)}
    fields = form_fields(served.params, _kept(served, submitted))
    return _form(request, served, fields, result=result)


def _result_text(what: str, name: str, plan: dict[str, Any], lines: list[str]) -> str:
    from corral.engine.preview import plan_text

    if what == "plan":
        return "\n".join([plan_text(plan), *lines])
    plays = len(plan["plays"])
    hosts = len({host for play in plan["plays"] for host in play["hosts"]})
    return "\n".join(
        [
            f"ok: {name} is valid with these params ({plays} play{'s' * (plays != 1)}, "
            f"{hosts} host{'s' * (hosts != 1)})",
            *lines,
        ]
    )


def _submitted(
    served: Served, viewer: Viewer
) -> tuple[dict[str, str], dict[str, Any], dict[str, list[str]]]:
    """The form's text per param, the typed params, and each field's problems."""
    from corral_plugins.server.params_form import params_from_form

    form = viewer.form
    submitted = {
        name: value
        for name in served.params
        if form is not None and isinstance(value := form.get(name), str)
    }
    values, problems = params_from_form(served.params, submitted)
    return submitted, values, problems


def _kept(served: Served, submitted: dict[str, str]) -> dict[str, str]:
    """What the form shows again: what was typed, but never a secret."""
    return {n: v for n, v in submitted.items() if not served.params[n].secret}


def _shown(served: Served, submitted: dict[str, str]) -> dict[str, str]:
    """The params as the audit keeps them: secrets as ``********``."""
    return {n: REDACTED if served.params[n].secret and v else v for n, v in submitted.items()}


def _invalid(
    request: Request, served: Served, submitted: dict[str, str], problems: dict[str, list[str]]
) -> Response:
    from corral_plugins.server.params_form import form_fields

    fields = form_fields(served.params, _kept(served, submitted), problems)
    count = sum(len(found) for found in problems.values())
    return _form(request, served, fields, invalid=count, status_code=422)


def _form(
    request: Request,
    served: Served,
    fields: list[Any],
    *,
    result: dict[str, Any] | None = None,
    invalid: int = 0,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "playbook.html",
        status_code=status_code,
        name=served.name,
        plays=[play.name for play in served.playbook.plays],
        triggers=[{"kind": e.kind, "play": e.play} for e in served.entries],
        fields=fields,
        result=result,
        invalid=invalid,
        file=Path(served.name).name,
    )


def _missing(request: Request, name: str) -> Response:
    error = server_of(request).project.errors.get(name)
    message = (
        f"No playbook {name!r} is served: it does not load: {error}"
        if error
        else f"No playbook {name!r} is served. See the Playbooks page for those that are."
    )
    return render(request, "refused.html", status_code=404, title="Not found", message=message)

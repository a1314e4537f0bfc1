"""The runs pages: ``/`` (runs, filtered and paged), ``/runs/{id}`` (live, then finished),
its fragment and event stream for the live view, and its cancel and resume buttons."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import Viewer, form_post, page, server_of

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["router"]

router = ui_router()
READ, RUN = page("read"), form_post("run")
PAGE_SIZE = 50
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FILTERS = ("playbook", "status", "host", "trigger", "since", "until")
RESUMABLE = ("failed", "interrupted", "cancelled")  # as the API's resume allows


def _when(text: str, name: str) -> float:
    """A filter's date or date and time (local), as a timestamp."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(
            f"{name} {text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


@router.get("/")
def runs_page(request: Request, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The runs, newest first, filtered by the GET form's fields, a page at a time."""
    from corral.store.queries import history

    query = request.query_params
    chosen = {name: query.get(name, "").strip() for name in FILTERS}
    page_no = int(query["page"]) if query.get("page", "").isdigit() else 1
    page_no = max(page_no, 1)
    errors = []
    if chosen["status"] and chosen["status"] not in STATUSES:
        errors.append(f"status {chosen['status']!r} is unknown: pick one of {', '.join(STATUSES)}")
    times: dict[str, float | None] = {"since": None, "until": None}
    for name in times:
        if chosen[name]:
            try:
                times[name] = _when(chosen[name], name)
            except ValueError as exc:
                errors.append(str(exc))
    rows: list[dict[str, Any]] = []
    if not errors:
        rows = history(
            server_of(request).store(),
            playbook=chosen["playbook"] or None,
            status=chosen["status"] or None,
            host=chosen["host"] or None,
            trigger=chosen["trigger"] or None,
            since=times["since"],
            until=times["until"],
            limit=PAGE_SIZE + 1,  # one more: is there an older page?
            offset=(page_no - 1) * PAGE_SIZE,
        )
    kept = {name: value for name, value in chosen.items() if value}
    older = newer = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        older = "/?" + urlencode({**kept, "page": page_no + 1})
    if page_no > 1:
        newer = "/?" + urlencode({**kept, "page": page_no - 1})
    return render(
        request,
        "runs.html",
        status_code=400 if errors else 200,
        runs=rows,
        chosen=chosen,
        statuses=STATUSES,
        playbooks=sorted(server_of(request).project.served),
        errors=errors,
        page_no=page_no,
        older=older,
        newer=newer,
    )


def _run_row(store: Store, ref: str) -> dict[str, Any] | None:
    from corral.errors import UsageError

    try:
        return store.resolve_run(ref)
    except UsageError:
        return None


def _not_found(request: Request, ref: str) -> Response:
    return render(
        request,
        "refused.html",
        status_code=404,
        title="No such run",
        message=f"There is no run {ref!r}: pick one from the runs page.",
    )


@router.get("/runs/{ref}")
def run_page(request: Request, ref: str, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """One run: its live view while queued or running, its finished view once ended."""
    return _run_answer(request, ref, "run.html")


@router.get("/runs/{ref}/view")
def run_fragment(request: Request, ref: str, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The run's view alone (no page around it): what the live view's script swaps in."""
    return _run_answer(request, ref, "run_view.html")


def _run_answer(request: Request, ref: str, template: str) -> Response:
    from corral_plugins.server.ui.runview import run_view

    row = _run_row(server_of(request).store(), ref)
    if row is None:
        return _not_found(request, ref)
    view = run_view(server_of(request), row["id"])
    notice = NOTICES.get(request.query_params.get("notice", ""), "")
    return render(request, template, view=view, run=view["run"], notice=notice)


@router.get("/runs/{ref}/events")
def run_events(request: Request, ref: str, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The run's events as server-sent events (the API's stream, with the session's login)."""
    from corral_plugins.server.api_runs import event_stream

    row = _run_row(server_of(request).store(), ref)
    if row is None:
        return _not_found(request, ref)
    stream: StreamingResponse = event_stream(request, row["id"])
    return stream


@router.post("/runs/{ref}/cancel")
def cancel(request: Request, ref: str, viewer: Viewer = Depends(RUN)) -> Response:  # noqa: B008
    """Cancel the run (it winds down: cleanup, rollbacks), as ``corral cancel``."""
    from corral.errors import UsageError
    from corral.store.control import request_cancel
    from corral_plugins.server.ui.audit import record

    server = server_of(request)
    store = server.store()
    row = _run_row(store, ref)
    if row is None:
        return _not_found(request, ref)
    grace = _grace(viewer)
    if isinstance(grace, str):
        return _back(row["id"], grace)
    try:
        request_cancel(store, row["id"], by=viewer.label, grace=grace, now=False)
    except UsageError as exc:
        outcome = f"refused: {exc}"
        record(request, viewer, "cancel", {"run": row["id"]}, outcome=outcome, run_id=row["id"])
        return _back(row["id"], "not-cancelled")
    server.wake()
    args = {"run": row["id"], "grace": grace}
    record(request, viewer, "cancel", args, run_id=row["id"])
    return _back(row["id"], "cancelling")


def _grace(viewer: Viewer) -> float | str | None:
    """The cancel form's grace in seconds (None: the run's own), or the notice of a bad one."""
    text = str(viewer.form.get("grace") or "").strip() if viewer.form else ""
    if not text:
        return None
    try:
        grace = float(text)
    except ValueError:
        return "bad-grace"
    return grace if 0 <= grace < float("inf") else "bad-grace"


@router.post("/runs/{ref}/resume")
def resume(request: Request, ref: str, viewer: Viewer = Depends(RUN)) -> Response:  # noqa: B008
    """Resume a failed, interrupted or cancelled run in a worker, as ``corral resume``."""
    from corral_plugins.server.ui.audit import record

    server = server_of(request)
    row = _run_row(server.store(), ref)
    if row is None:
        return _not_found(request, ref)
    if row["status"] not in RESUMABLE:
        outcome = f"refused: the run is {row['status']}"
        record(request, viewer, "resume", {"run": row["id"]}, outcome=outcome, run_id=row["id"])
        return _back(row["id"], "not-resumed")
    server.resume(row["id"], started_by=viewer.label)
    record(request, viewer, "resume", {"run": row["id"]}, run_id=row["id"])
    return _back(row["id"], "resuming")


# What the run page says after a button (by key: a link cannot make it say anything else).
NOTICES = {
    "cancelling": "Cancel asked: the run winds down at its next task boundary.",
    "not-cancelled": "Not cancelled: the run has already ended.",
    "bad-grace": "Not cancelled: the grace must be a number of seconds, 0 or more.",
    "resuming": "Resuming: the run starts again where it stopped.",
    "not-resumed": "Not resumed: only failed, interrupted or cancelled runs resume.",
}


def _back(run_id: str, notice: str) -> Response:
    """Back to the run's page (POST, redirect, GET), with a notice (a key of NOTICES)."""
    return RedirectResponse(f"/runs/{run_id}?" + urlencode({"notice": notice}), status_code=303)


# The report as ``corral report`` writes it: one file with its own inline CSS and no
# script, so its page may use inline styles and nothing else.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@router.get("/runs/{ref}/report")
def run_report(request: Request, ref: str, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """The run's HTML report (``corral report RUN``)."""
    from fastapi.responses import HTMLResponse

    from corral_plugins.history.html import render_html, report_data

    store = server_of(request).store()
    row = _run_row(store, ref)
    if row is None:
        return _not_found(request, ref)
    response = HTMLResponse(render_html(report_data(store, row["id"])))
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response

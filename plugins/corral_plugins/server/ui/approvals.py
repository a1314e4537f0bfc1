"""The approvals inbox: ``/approvals`` lists what running runs wait for, oldest first,
and answers one (approve or reject, with a comment) with the ``approve`` scope.

Answers go through :func:`corral.store.approvals.answer`, as the API's do, so the
``forbid_starter`` rule holds here too: whoever started a run may not answer its
approval when the approval forbids it. Each answer, refused or not, is in the audit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import Viewer, form_post, page

if TYPE_CHECKING:
    from corral_plugins.server.daemon import Server

__all__ = ["router"]

router = ui_router()
READ, APPROVE = page("read"), form_post("approve")
MAX_COMMENT = 2000  # characters kept of a comment
# What the page says after an answer (by key: a link cannot make it say anything else).
NOTICES = {
    "approved": "Approved: the run goes on.",
    "rejected": "Rejected: the run skips the play, or the step fails.",
    "gone": "Not answered: that approval is no longer waiting (answered or timed out).",
    "starter": "Not answered: you started this run and its approval forbids its starter "
    "to answer. Someone else approves it.",
}


def _server(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


@router.get("/approvals")
def approvals_page(request: Request, viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """What running runs wait for: run, playbook, prompt, who started it, since when."""
    from corral.store.approvals import waiting
    from corral_plugins.server.tokens import scope_allows

    now = time.time()
    items = [
        {
            **item,
            "waiting": max(0.0, now - item["requested"]),
            "left": max(0.0, item["requested"] + item["timeout"] - now),
            "mine": bool(item["forbid_starter"]) and item["started_by"] == viewer.label,
        }
        for item in waiting(_server(request).store())
    ]
    return render(
        request,
        "approvals.html",
        items=items,
        can_answer=scope_allows(viewer.scope, "approve"),
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
    )


@router.post("/approvals/{approval_id}/approve")
def approve(request: Request, approval_id: int, viewer: Viewer = Depends(APPROVE)) -> Response:  # noqa: B008
    """Approve: the run goes on."""
    return _answer(request, approval_id, viewer, approved=True)


@router.post("/approvals/{approval_id}/reject")
def reject(request: Request, approval_id: int, viewer: Viewer = Depends(APPROVE)) -> Response:  # noqa: B008
    """Reject: the play is skipped (a play's approval) or the step fails."""
    return _answer(request, approval_id, viewer, approved=False)


def _answer(request: Request, approval_id: int, viewer: Viewer, *, approved: bool) -> Response:
    from corral.errors import UsageError
    from corral.store.approvals import answer
    from corral_plugins.server.ui.audit import record

    store = _server(request).store()
    found = store.conn.execute("SELECT run_id FROM approvals WHERE id = ?", (approval_id,))
    row = found.fetchone()
    run_id = row[0] if row else None
    comment = str(viewer.form.get("comment") or "")[:MAX_COMMENT] if viewer.form else ""
    action = "approve" if approved else "reject"
    args = {"approval": approval_id, "comment": comment}
    try:
        done = answer(store, approval_id, approved=approved, by=viewer.label, comment=comment)
    except UsageError as exc:
        record(request, viewer, action, args, outcome=f"refused: {exc}", run_id=run_id)
        return _back("starter")
    if not done:
        record(request, viewer, action, args, outcome="refused: not pending", run_id=run_id)
        return _back("gone")
    record(request, viewer, action, args, run_id=run_id)
    return _back("approved" if approved else "rejected")


def _back(notice: str) -> Response:
    return RedirectResponse("/approvals?" + urlencode({"notice": notice}), status_code=303)

"""The approvals inbox: ``/approvals`` lists what running runs wait for, oldest first,
and answers one (approve or reject, with a comment) with the ``approve`` scope.

Answers go through :func:`corral.store.approvals.answer`, as the API's do, so the
``forbid_starter`` rule holds here too: whoever started a run may not answer its
approval when the approval forbids it. Each answer, refused or not, is in the audit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import Depends, Request
from fastapi.responses import Response

from corral_plugins.server.ui.notices import back, notice
from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import Viewer, form_post, page, server_of

if TYPE_CHECKING:
    from corral.store.db import Store

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


@router.get("/approvals")
def approvals_page(request: Request, viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """What running runs wait for: run, playbook, play (and task), prompt, who started
    it, since when."""
    from corral.store.approvals import waiting
    from corral_plugins.server.tokens import scope_allows

    now = time.time()
    store = server_of(request).store()
    items = [
        {
            **item,
            **_where(store, item["run_id"], item["key"]),
            "waiting": max(0.0, now - item["requested"]),
            "left": max(0.0, item["requested"] + item["timeout"] - now),
            "mine": bool(item["forbid_starter"]) and item["started_by"] == viewer.label,
        }
        for item in waiting(store)
    ]
    return render(
        request,
        "approvals.html",
        items=items,
        can_answer=scope_allows(viewer.scope, "approve"),
        notice=notice(request, NOTICES),
    )


# The run's ``approval`` event names what asks (a play, or an approval step's task); the
# play is the last one started before it. Both read the run's own rows of ``events``.
_ASKED = """
    SELECT seq, json_extract(data, '$.task') FROM events
    WHERE run_id = ? AND kind = 'approval' AND json_extract(data, '$.key') = ?
    ORDER BY seq DESC LIMIT 1
"""
_PLAY = """
    SELECT json_extract(data, '$.play') FROM events
    WHERE run_id = ? AND kind = 'play_start' AND seq < ? ORDER BY seq DESC LIMIT 1
"""


def _where(store: Store, run_id: str, key: str) -> dict[str, str]:
    """The play and the task (for an approval step) that ask, as the run's events say."""
    asked = store.conn.execute(_ASKED, (run_id, key)).fetchone()
    if asked is None:
        return {"play": "", "task": ""}
    play = store.conn.execute(_PLAY, (run_id, asked[0])).fetchone()
    name = str(play[0]) if play and play[0] is not None else ""
    task = str(asked[1] or "")
    return {"play": name or task, "task": "" if task == name else task}


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

    store = server_of(request).store()
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
        return back("/approvals", "starter")
    if not done:
        record(request, viewer, action, args, outcome="refused: not pending", run_id=run_id)
        return back("/approvals", "gone")
    record(request, viewer, action, args, run_id=run_id)
    return back("/approvals", "approved" if approved else "rejected")

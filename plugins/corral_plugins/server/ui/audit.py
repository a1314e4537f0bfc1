"""What UI users changed: one ``audit`` row per state-changing request (channel ``ui``)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import Request

    from corral_plugins.server.ui.session import Viewer

__all__ = ["record"]


def record(
    request: Request,
    viewer: Viewer,
    action: str,
    args: Mapping[str, Any],
    *,
    outcome: str = "ok",
    run_id: str | None = None,
) -> None:
    """Record ``action`` (``cancel``, ``resume``...) by ``viewer``, with its outcome."""
    store = request.app.state.server.store()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO audit (time, channel, client, action, args, outcome, run_id) "
            "VALUES (?, 'ui', ?, ?, ?, ?, ?)",
            (
                time.time(),
                viewer.label,
                action,
                json.dumps(dict(args), default=str),
                outcome,
                run_id,
            ),
        )

"""The ``run`` trigger: start a playbook when another playbook's run ends (DR chains).

The trigger watches the run store, so it sees runs started from any process: by the
server, by ``corral run`` in a shell, by another machine's cron sharing the store. Runs
that ended before the trigger was armed do not fire it. A run is judged by how it
ended: ``success`` is ``succeeded``; ``failure`` is ``failed``, ``cancelled`` or
``interrupted``. A run interrupted then resumed ends twice, and fires for each end
that matches.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from corral import TriggerContext

__all__ = ["ENDS", "watch"]

ENDS = {
    "success": frozenset({"succeeded"}),
    "failure": frozenset({"failed", "cancelled", "interrupted"}),
    "any": frozenset({"succeeded", "failed", "cancelled", "interrupted"}),
}
# How many of the playbook's latest runs each look reads: more than can end in one poll.
WINDOW = 50


def watch(ctx: TriggerContext, args: Mapping[str, Any]) -> None:
    """Fire once per matching end of a run of ``args["playbook"]``, until stopped.

    The payload names the run that ended: ``{"run_id", "status", "playbook"}``.
    """
    from corral.store.db import open_store

    wanted = ENDS[str(args.get("on", "success"))]
    poll = float(args.get("poll", 2))
    store = open_store(ctx.environ if ctx.environ is not None else os.environ)
    try:
        seen = {_end(run) for run in _latest(store, args["playbook"])}
        while not ctx.stopping.wait(poll):
            latest = _latest(store, args["playbook"])
            for run in reversed(latest):  # oldest first
                end = _end(run)
                if run["status"] == "running" or end in seen:
                    continue
                seen.add(end)
                if run["status"] in wanted:
                    payload = {"run_id": run["id"], "status": run["status"]}
                    ctx.fire({**payload, "playbook": run["playbook"]})
            seen &= {_end(run) for run in latest}  # forget what left the window
    finally:
        store.close()


def _latest(store: Any, playbook: str) -> list[dict[str, Any]]:
    from corral.store.queries import history

    return history(store, playbook=playbook, limit=WINDOW)


def _end(run: Mapping[str, Any]) -> tuple[str, Any, str]:
    """What makes an end new: the same run id ends again after a resume."""
    return (str(run["id"]), run.get("ended"), str(run["status"]))

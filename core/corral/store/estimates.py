"""How long a playbook's plays took in its earlier runs: ``corral plan``'s estimates, and
the progress and time left of a running run (``corral show``)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from statistics import mean
from typing import TYPE_CHECKING, Any

from corral.store.db import open_store, store_enabled, store_path

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["past_plays", "play_estimates", "run_progress"]

RECENT_RUNS = 10


def play_estimates(environ: Mapping[str, str], playbook: str) -> dict[str, float]:
    """Mean seconds per play uid over the last finished runs of ``playbook`` (as given)."""
    if not store_enabled(environ) or not store_path(environ).exists():
        return {}
    store = open_store(environ)
    try:
        return past_plays(store, playbook)[0]
    finally:
        store.close()


def past_plays(store: Store, playbook: str) -> tuple[dict[str, float], list[str]]:
    """Mean seconds per play uid over the last finished runs of ``playbook``, and those runs."""
    runs = [
        row[0]
        for row in store.conn.execute(
            "SELECT id FROM runs WHERE playbook = ? AND status IN ('succeeded', 'failed') "
            "ORDER BY started DESC LIMIT ?",
            (playbook, RECENT_RUNS),
        )
    ]
    if not runs:
        return {}, []
    started: dict[tuple[str, str], float] = {}
    durations: dict[str, list[float]] = {}
    for run_id, kind, when, data in _play_events(store, runs):
        uid = json.loads(data).get("uid", "")
        if kind == "play_start":
            started[(run_id, uid)] = when
        elif (run_id, uid) in started:
            durations.setdefault(uid, []).append(when - started.pop((run_id, uid)))
    return {uid: mean(values) for uid, values in durations.items()}, runs


def _play_events(store: Store, runs: list[str]) -> list[tuple[str, str, float, str]]:
    marks = ",".join("?" * len(runs))
    return store.conn.execute(
        f"SELECT run_id, kind, time, data FROM events WHERE run_id IN ({marks}) "  # noqa: S608 - placeholders only
        "AND kind IN ('play_start', 'play_end') ORDER BY run_id, seq",
        runs,
    ).fetchall()


def run_progress(store: Store, run: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """How far the running ``run`` (its ``runs`` row) is, judged by the playbook's past runs.

    ``units_done`` are its finished units (task x host, loops counted once);
    ``units_expected`` the most any of the last finished runs had; ``seconds_left`` adds,
    per play, its mean past duration less the time it has run (0 once every play is past
    its usual time). Both are None without past runs (``past_runs`` is 0).
    """
    now = time.time() if now is None else now
    done = int(
        store.conn.execute(
            "SELECT count(*) FROM units WHERE run_id = ? AND item_index IS NULL", (run["id"],)
        ).fetchone()[0]
    )
    estimates, past = past_plays(store, str(run["playbook"]))
    progress: dict[str, Any] = {
        "units_done": done,
        "units_expected": None,
        "percent": None,
        "seconds_left": None,
        "past_runs": len(past),
    }
    if not past:
        return progress
    marks = ",".join("?" * len(past))
    expected = store.conn.execute(
        f"SELECT max(n) FROM (SELECT sum(units) AS n FROM run_tasks WHERE run_id IN ({marks})"  # noqa: S608 - placeholders only
        " GROUP BY run_id)",
        past,
    ).fetchone()[0]
    expected = max(int(expected or 0), done)
    # A run at its last unit is still running (handlers, its recap): never 100% before it ends.
    percent = min(99, done * 100 // expected) if expected else 0
    left = 0.0
    ran = _plays_so_far(store, str(run["id"]), now)
    for uid, seconds in estimates.items():
        left += max(0.0, seconds - ran.get(uid, 0.0))
    progress.update(units_expected=expected, percent=percent, seconds_left=round(left, 1))
    return progress


def _plays_so_far(store: Store, run_id: str, now: float) -> dict[str, float]:
    """Seconds each play of the run has run (an ended play counts as done: infinity)."""
    ran: dict[str, float] = {}
    for _, kind, when, data in _play_events(store, [run_id]):
        uid = json.loads(data).get("uid", "")
        ran[uid] = float("inf") if kind == "play_end" else now - when
    return ran

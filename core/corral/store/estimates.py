"""How long each play took in earlier runs of a playbook, for ``corral plan``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from statistics import mean

from corral.store.db import open_store, store_enabled, store_path

__all__ = ["play_estimates"]

RECENT_RUNS = 10


def play_estimates(environ: Mapping[str, str], playbook: str) -> dict[str, float]:
    """Mean seconds per play uid over the last finished runs of ``playbook`` (as given)."""
    if not store_enabled(environ) or not store_path(environ).exists():
        return {}
    store = open_store(environ)
    try:
        runs = [
            row[0]
            for row in store.conn.execute(
                "SELECT id FROM runs WHERE playbook = ? AND status IN ('succeeded', 'failed') "
                "ORDER BY started DESC LIMIT ?",
                (playbook, RECENT_RUNS),
            )
        ]
        if not runs:
            return {}
        marks = ",".join("?" * len(runs))
        rows = store.conn.execute(
            f"SELECT run_id, kind, time, data FROM events WHERE run_id IN ({marks}) "  # noqa: S608 - placeholders only
            "AND kind IN ('play_start', 'play_end') ORDER BY run_id, seq",
            runs,
        ).fetchall()
    finally:
        store.close()
    started: dict[tuple[str, str], float] = {}
    durations: dict[str, list[float]] = {}
    for run_id, kind, time, data in rows:
        uid = json.loads(data).get("uid", "")
        if kind == "play_start":
            started[(run_id, uid)] = time
        elif (run_id, uid) in started:
            durations.setdefault(uid, []).append(time - started.pop((run_id, uid)))
    return {uid: mean(values) for uid, values in durations.items()}

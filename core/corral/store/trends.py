"""Stats over time, for plots: per playbook, success rate and p50/p95 duration per bucket.

:func:`trends` adds to :func:`corral.store.queries.stats` (totals per playbook, slowest
tasks, failing hosts) a series per playbook: one point per day, or per hour when the
range is two days or less. It reads ``runs`` alone, through its ``(playbook, started)``
or ``(started)`` index, and never the unit rows. The hosts are ranked by how often they
fail relative to their runs (the flakiest first), not by their count of failures.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from corral.store.queries import _playbook_clause, percentile, stats

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["FINISHED", "bucket_size", "trends"]

FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
HOUR, DAY = 3600, 86400
# ``+status``: the range of ``started`` is what narrows the rows (nearly every run has
# ended), so SQLite is kept from picking the status index for them.
_RUNS = """
    SELECT playbook, status, started, duration FROM runs
    WHERE +status IN ('succeeded', 'failed', 'cancelled', 'interrupted') AND {condition}
    ORDER BY playbook, started
"""


def bucket_size(since: float, until: float) -> int:
    """Seconds per point: an hour for two days or less, else a day."""
    return HOUR if until - since <= 2 * DAY else DAY


def trends(
    store: Store,
    *,
    since: float,
    until: float | None = None,
    playbook: str | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Per playbook a series of buckets (``start``, ``runs``, ``succeeded``,
    ``success_rate``, ``p50_duration``, ``p95_duration``) from ``since`` to ``until``,
    plus :func:`~corral.store.queries.stats`' totals, slowest tasks and flakiest hosts."""
    until = time.time() if until is None else until
    size = bucket_size(since, until)
    where, params = ["started >= ?", "started < ?"], [since, until]
    if playbook:
        clause, values = _playbook_clause(playbook)
        where.append(clause)
        params.extend(values)
    # Fixed SQL; only the values are parameters.
    sql = _RUNS.format(condition=" AND ".join(where))
    grouped: dict[str, dict[int, list[tuple[str, float]]]] = {}
    for name, status, started, duration in store.conn.execute(sql, params):
        start = int(started // size * size)
        grouped.setdefault(name, {}).setdefault(start, []).append((status, float(duration or 0)))
    totals = stats(store, playbook=playbook, since=since, top=top)
    flaky = sorted(
        totals["failing_hosts"], key=lambda r: (-r["failure_rate"], -r["runs"], r["host"])
    )
    return {
        "since": since,
        "until": until,
        "bucket": "hour" if size == HOUR else "day",
        "bucket_seconds": size,
        "playbooks": [
            {"playbook": name, "series": [_point(start, runs) for start, runs in sorted(b.items())]}
            for name, b in sorted(grouped.items())
        ],
        "totals": totals["playbooks"],
        "slowest_tasks": totals["slowest_tasks"],
        "flakiest_hosts": flaky,
    }


def _point(start: int, runs: list[tuple[str, float]]) -> dict[str, Any]:
    durations = sorted(duration for _, duration in runs)
    succeeded = sum(status == "succeeded" for status, _ in runs)
    return {
        "start": start,
        "runs": len(runs),
        "succeeded": succeeded,
        "success_rate": round(succeeded / len(runs), 3),
        "p50_duration": round(percentile(durations, 0.50) or 0.0, 3),
        "p95_duration": round(percentile(durations, 0.95) or 0.0, 3),
    }

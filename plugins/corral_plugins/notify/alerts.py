"""Threshold alerts for run-end notifications: ``on: [slow]`` and ``on: [failure_rate]``.

Both compare the run that just ended with the playbook's earlier runs in the run store
(found from the run's environment, ``CORRAL_HOME``), so whatever runs the playbook
(``corral run``, ``corral resume``, the server's workers) evaluates them the same way,
when the run's ``recap`` event is emitted: before the store writer has recorded the
run's end, so the run's own duration and status come from the recap.

- ``slow``: the run took more than ``slow_factor`` (default 2) times the p95 duration of
  the playbook's last successful runs (at most :data:`HISTORY_RUNS` of them), once there
  are at least ``min_runs`` (default 5) of them.
- ``failure_rate``: of the playbook's last ``window`` (default 10) finished runs, this
  one included, the share that failed is above ``threshold`` (default 0.5), once there
  are at least ``min_runs`` of them.

Runs are compared with runs of the same playbook (as the store names it: the path as
given) in the same mode (a ``--check`` run with check runs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ALERTS", "ALERT_KEYS", "DEFAULTS", "HISTORY_RUNS", "History", "alert_summaries"]

ALERTS = ("slow", "failure_rate")
DEFAULTS: Mapping[str, float] = {"slow_factor": 2.0, "min_runs": 5, "window": 10, "threshold": 0.5}
ALERT_KEYS = tuple(DEFAULTS)
HISTORY_RUNS = 100  # past successful runs whose durations make the p95

_PAST_DURATIONS = """
    SELECT duration FROM runs
    WHERE playbook = ? AND id != ? AND check_mode = ? AND status = 'succeeded'
    ORDER BY started DESC LIMIT ?
"""
_PAST_STATUSES = """
    SELECT status FROM runs
    WHERE playbook = ? AND id != ? AND check_mode = ?
        AND status NOT IN ('running', 'queued') AND started <= ?
    ORDER BY started DESC LIMIT ?
"""


@dataclass(frozen=True)
class History:
    """A playbook's earlier runs: successful durations (sorted), statuses (newest first)."""

    durations: Sequence[float]
    statuses: Sequence[str]


def alert_summaries(
    entries: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    environ: Mapping[str, str],
    warn: Callable[[str], None],
) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """The alerts that fire for the run ``summary`` describes: (entry, the alert's summary).

    Only entries whose ``on`` names an alert are looked at. A run the store does not
    hold (``--no-store``, ``CORRAL_STORE=off``) cannot be compared: one warning, no alert.
    """
    wanting = [e for e in entries if set(e.get("on") or ()) & set(ALERTS)]
    if not wanting:
        return []
    window = max(int(_setting(e, "window")) for e in wanting)
    try:
        history = load_history(environ, str(summary.get("run_id", "")), window)
    except Exception as exc:  # a broken store must not break the run's end
        warn(f"slow and failure_rate notifications not evaluated: {exc}")
        return []
    if history is None:
        warn(
            "slow and failure_rate notifications need the run store, and this run is not"
            " recorded (--no-store or CORRAL_STORE=off); they were not evaluated"
        )
        return []
    fired = []
    for entry in wanting:
        for alert in ALERTS:
            if alert not in (entry.get("on") or ()):
                continue
            reason = _reason(alert, entry, summary, history)
            if reason is not None:
                fired.append((entry, alert_summary(summary, alert, reason)))
    return fired


def alert_summary(summary: Mapping[str, Any], alert: str, reason: str) -> dict[str, Any]:
    """The run's summary, as an alert: ``event: alert``, ``outcome`` the alert, and why."""
    return {**summary, "event": "alert", "outcome": alert, "alert": alert, "reason": reason}


def load_history(environ: Mapping[str, str], run_id: str, window: int) -> History | None:
    """The earlier runs of ``run_id``'s playbook; None when the store does not hold the run."""
    from corral.store.db import open_store, store_enabled, store_path

    if not run_id or not store_enabled(environ) or not store_path(environ).exists():
        return None
    store = open_store(environ)
    try:
        run = store.run_row(run_id)
        if run is None:
            return None
        key = (run["playbook"], run_id, run["check_mode"])
        durations = [
            float(row[0] or 0.0)
            for row in store.conn.execute(_PAST_DURATIONS, (*key, HISTORY_RUNS))
        ]
        statuses = [
            str(row[0])
            for row in store.conn.execute(_PAST_STATUSES, (*key, run["started"], window))
        ]
    finally:
        store.close()
    return History(durations=sorted(durations), statuses=statuses)


def _setting(entry: Mapping[str, Any], key: str) -> float:
    value = entry.get(key)
    return float(DEFAULTS[key] if value is None else value)


def _reason(
    alert: str, entry: Mapping[str, Any], summary: Mapping[str, Any], history: History
) -> str | None:
    """Why ``alert`` fires for the run (the message's explanation), or None when it does not."""
    from corral.store.queries import percentile
    from corral_plugins.history.display import format_duration

    min_runs = int(_setting(entry, "min_runs"))
    if alert == "slow":
        p95 = percentile(history.durations, 0.95)
        duration = float(summary.get("duration") or 0.0)
        if len(history.durations) < min_runs or not p95:
            return None
        if duration <= _setting(entry, "slow_factor") * p95:
            return None
        return (
            f"took {format_duration(duration)}, {duration / p95:.1f}x its p95 of"
            f" {format_duration(p95)} over {len(history.durations)} runs"
        )
    window = int(_setting(entry, "window"))
    from corral.store.db import status_for_exit_code

    # As the store will record it: an interrupted run is not a failed one.
    this = status_for_exit_code(int(summary.get("exit_code", 1)))
    statuses = [this, *history.statuses][:window]
    failed = statuses.count("failed")
    if len(statuses) < min_runs or failed / len(statuses) <= _setting(entry, "threshold"):
        return None
    return (
        f"{failed} of its last {len(statuses)} runs failed"
        f" ({failed / len(statuses):.0%}, above {_setting(entry, 'threshold'):.0%})"
    )

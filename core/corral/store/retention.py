"""How long the run store keeps runs, and pruning what is older.

``CORRAL_STORE_RETENTION`` sets how long finished runs are kept (``90d`` by default;
``forever`` or ``0`` keeps everything). A run's writer applies it when the run ends,
at most once a day per store; ``corral prune --older-than 30d`` prunes on demand.
A run that is still ``running`` is never pruned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corral.errors import UsageError

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = [
    "DEFAULT_RETENTION",
    "PruneResult",
    "parse_age",
    "parse_since",
    "prune",
    "prune_when_due",
    "retention_from_env",
]

DEFAULT_RETENTION = "90d"
PRUNE_EVERY = 86_400.0  # automatic pruning runs at most once a day
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_CHILD_TABLES = (
    "events",
    "units",
    "unit_attempts",
    "host_state",
    "run_hosts",
    "run_tasks",
    "remote_runs",
)


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed."""

    runs: int
    units: int
    events: int


def parse_age(text: str, *, what: str = "age") -> float:
    """Seconds in an age such as ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``.

    Raises :class:`~corral.errors.UsageError` for anything else.
    """
    match = _AGE.match(text)
    if match is None:
        raise UsageError(f"{what} {text!r} is not an age like 30d, 12h, 90m, 45s or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_since(text: str, now: float | None = None) -> float:
    """A point in time: an age back from now (``7d``), or an ISO date/time (``2026-11-01``)."""
    import datetime as dt

    now = time.time() if now is None else now
    if _AGE.match(text):
        return now - parse_age(text, what="--since")
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither an age nor a date",
            hint="use an age like 7d or 12h, or a date like 2026-11-01 or 2026-11-01T09:30",
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a date without a zone is local time
    return moment.timestamp()


def retention_from_env(environ: Mapping[str, str]) -> float | None:
    """Seconds to keep runs per ``CORRAL_STORE_RETENTION``; None keeps them forever."""
    text = environ.get("CORRAL_STORE_RETENTION", "").strip() or DEFAULT_RETENTION
    if text.lower() in ("forever", "never", "0", "off", "none"):
        return None
    return parse_age(text, what="CORRAL_STORE_RETENTION")


def prune(store: Store, older_than: float, *, now: float | None = None) -> PruneResult:
    """Delete the finished runs that started more than ``older_than`` seconds ago."""
    cutoff = (time.time() if now is None else now) - older_than
    store.refresh_liveness()
    ids = [
        row[0]
        for row in store.conn.execute(
            "SELECT id FROM runs WHERE started < ? AND status != 'running'", (cutoff,)
        )
    ]
    units = events = 0
    # A run at a time: each transaction stays short, so running runs are not held up.
    for run_id in ids:
        with store.transaction() as conn:
            units += conn.execute("DELETE FROM units WHERE run_id = ?", (run_id,)).rowcount
            events += conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,)).rowcount
            for table in _CHILD_TABLES[2:]:
                sql = f"DELETE FROM {table} WHERE run_id = ?"  # noqa: S608 - fixed names
                conn.execute(sql, (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    if ids:
        with store.transaction() as conn:
            conn.execute(
                "DELETE FROM blobs WHERE hash NOT IN (SELECT playbook_hash FROM runs)"
                " AND hash NOT IN (SELECT inventory_hash FROM runs)"
            )
        store.conn.execute("PRAGMA incremental_vacuum")
        store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return PruneResult(runs=len(ids), units=units, events=events)


def prune_when_due(store: Store, *, now: float | None = None) -> PruneResult | None:
    """Apply the store's retention if it is set and has not run for a day."""
    if store.retention is None:
        return None
    now = time.time() if now is None else now
    with store.transaction() as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
        if row is not None and now - float(row[0]) < PRUNE_EVERY:
            return None
        # Claimed before pruning, so concurrent runs ending together prune once.
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_prune', ?)", (str(now),)
        )
    return prune(store, store.retention, now=now)

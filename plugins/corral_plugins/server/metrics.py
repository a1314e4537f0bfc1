"""What the server reports about itself: ``/metrics`` (Prometheus text) and the triggers.

Figures come from the store where they are durable (runs by status, durations, fires),
so a restart does not reset them, and from the server's memory where they are not
(webhook answers by status, runs in progress).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral_plugins.server.daemon import Server

__all__ = ["Counters", "ThrottledLog", "metrics_text", "trigger_listing"]


@dataclass
class Counters:
    """What ``/metrics`` reports beyond the store's own figures."""

    fires: dict[str, int] = field(default_factory=dict)  # by trigger kind
    deliveries: dict[int, int] = field(default_factory=dict)  # webhook answers by status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, table: dict[Any, int], key: Any) -> None:
        with self.lock:
            table[key] = table.get(key, 0) + 1


class ThrottledLog:
    """A log for what may come in storms (a webhook flood): at most ``per_second`` lines a
    second; the rest are counted and told in one line when the second is over."""

    def __init__(
        self,
        log: Callable[[str], None],
        per_second: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.per_second = per_second
        self.clock = clock
        self._lock = threading.Lock()
        self._window = 0.0
        self._shown = 0
        self._dropped = 0

    def __call__(self, text: str) -> None:
        self.flush()
        with self._lock:
            shown = self._shown < self.per_second
            self._shown += shown
            self._dropped += not shown
        if shown:
            self.log(text)

    def flush(self) -> None:
        """Tell how many lines were left out, once their second is over."""
        now = self.clock()
        with self._lock:
            if now - self._window < 1.0:
                return
            dropped, self._window, self._shown, self._dropped = self._dropped, now, 0, 0
        if dropped:
            self.log(f"... and {dropped} more like it in the last second")


def _label(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def metrics_text(server: Server) -> str:
    """The Prometheus exposition of the server's counters and the store's figures."""
    conn = server.store().conn
    lines: list[str] = []

    def family(
        name: str, kind: str, text: str, samples: list[tuple[str, dict[str, Any], Any]]
    ) -> None:
        """HELP and TYPE of ``name``, then each (suffix, labels, value) sample."""
        lines.extend((f"# HELP {name} {text}", f"# TYPE {name} {kind}"))
        for suffix, labels, value in samples:
            shown = ",".join(f"{k}={_label(v)}" for k, v in labels.items())
            lines.append(
                f"{name}{suffix}{{{shown}}} {value}" if shown else f"{name}{suffix} {value}"
            )

    by_status = conn.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
    family(
        "corral_runs",
        "gauge",
        "Runs in the store, by status.",
        [("", {"status": s}, n) for s, n in by_status],
    )
    durations = conn.execute(
        "SELECT playbook, status, count(*), total(duration) FROM runs"
        " WHERE status IN ('succeeded', 'failed', 'cancelled') GROUP BY playbook, status"
    ).fetchall()
    family(
        "corral_run_duration_seconds",
        "summary",
        "How long finished runs took, by playbook and status.",
        [("_sum", {"playbook": p, "status": s}, round(t, 3)) for p, s, _, t in durations]
        + [("_count", {"playbook": p, "status": s}, n) for p, s, n, _ in durations],
    )
    fires = conn.execute("SELECT kind, outcome, count(*) FROM fires GROUP BY kind, outcome")
    family(
        "corral_trigger_fires_total",
        "counter",
        "Trigger fires recorded, by trigger kind and outcome (queued or skipped).",
        [("", {"kind": k, "outcome": o}, n) for k, o, n in fires],
    )
    queued = conn.execute("SELECT count(*) FROM runs WHERE status = 'queued'").fetchone()[0]
    family("corral_queue_depth", "gauge", "Runs queued, waiting for a worker.", [("", {}, queued)])
    family(
        "corral_runs_in_progress",
        "gauge",
        "Workers running a run now.",
        [("", {}, len(server.running()))],
    )
    with server.counters.lock:
        answers = sorted(server.counters.deliveries.items())
    family(
        "corral_webhook_deliveries_total",
        "counter",
        "Webhook deliveries since the server started, by the status answered.",
        [("", {"status": status}, n) for status, n in answers],
    )
    return "\n".join(lines) + "\n"


def trigger_listing(server: Server) -> list[dict[str, Any]]:
    """Each armed trigger with its next and last fire, its playbook's last run, and
    whether it is switched on (``enabled``; who switched it, when)."""
    from corral.commands.triggers import describe_trigger
    from corral.store.queries import history, last_fire
    from corral.store.switches import trigger_switches

    store = server.store()
    switches = trigger_switches(store)
    now = datetime.now(UTC)
    rows = []
    latest: dict[str, list[dict[str, Any]]] = {}  # playbook -> its last run: one look each
    for entry in server.entries():
        trigger = server.registry.triggers[entry.kind]
        described = describe_trigger(trigger, entry.args, entry.playbook, now)
        last = last_fire(store, entry.playbook, entry.key)
        if entry.playbook not in latest:
            latest[entry.playbook] = history(store, playbook=entry.playbook, limit=1)
        runs = latest[entry.playbook]
        path = trigger.path(entry.args) if trigger.path is not None else None
        switch = switches.get((entry.playbook, entry.key), {})
        rows.append(
            {
                "playbook": entry.playbook,
                "play": entry.play,
                "key": entry.key,
                **described,
                "path": path,
                "last_fire": None
                if last is None
                else datetime.fromtimestamp(last, UTC).isoformat(),
                "last_run": runs[0]["id"] if runs else None,
                "last_run_status": runs[0]["status"] if runs else None,
                "enabled": switch.get("enabled", True),
                "switched_by": switch.get("changed_by"),
                "switched": switch.get("changed"),
            }
        )
    return rows

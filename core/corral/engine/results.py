"""Outcomes of units, and the per-host recap counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "changed", "failed", "timeout", "skipped", "unreachable", "ignored"]
RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
NO_LOG_MESSAGE = (
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
)


@dataclass
class UnitOutcome:
    """What one task did on one host (all its loop items together)."""

    status: Status
    result: dict[str, Any]
    meta: str | None = None  # a meta action the engine must carry out: end_host, end_play...
    set_vars: dict[str, Any] | None = None  # what set_fact set (shared with the batch by run_once)
    facts: dict[str, Any] | None = None

    @property
    def fatal(self) -> bool:
        """Whether the host stops here (failed or unreachable, and not ignored)."""
        return self.status in ("failed", "timeout", "unreachable")


def status_of(result: Mapping[str, Any], ignore_errors: bool) -> Status:
    """The status a registered-shape result stands for."""
    if result.get("unreachable"):
        return "unreachable"
    if result.get("failed"):
        if ignore_errors:
            return "ignored"
        return "timeout" if result.get("timed_out") else "failed"
    if result.get("skipped"):
        return "skipped"
    return "changed" if result.get("changed") else "ok"


@dataclass
class Recap:
    """Counters per host, as ``PLAY RECAP`` shows them."""

    hosts: dict[str, dict[str, int]] = field(default_factory=dict)

    def host(self, name: str) -> dict[str, int]:
        counts = self.hosts.get(name)
        if counts is None:
            counts = self.hosts[name] = dict.fromkeys(RECAP_KEYS, 0)
        return counts

    def count(self, host: str, status: Status, *, changed: bool = False) -> None:
        """Count one task result the way Ansible does.

        A changed result counts as ok too; an ignored failure counts as ok (and
        changed, when it changed something) and as ignored.
        """
        counts = self.host(host)
        if status in ("ok", "changed"):
            counts["ok"] += 1
            if status == "changed":
                counts["changed"] += 1
        elif status == "ignored":
            counts["ok"] += 1
            counts["ignored"] += 1
            counts["changed"] += 1 if changed else 0
        elif status == "timeout":
            counts["failed"] += 1
        else:
            counts[status] += 1

    def rescue(self, host: str) -> None:
        """A failure handled by ``rescue`` counts as rescued, not failed."""
        counts = self.host(host)
        counts["failed"] = max(0, counts["failed"] - 1)
        counts["rescued"] += 1

    def exit_code(self) -> int:
        """2 when a host failed, 3 when one was unreachable (none failed), else 0."""
        if any(c["failed"] for c in self.hosts.values()):
            return 2
        if any(c["unreachable"] for c in self.hosts.values()):
            return 3
        return 0

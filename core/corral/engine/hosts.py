"""Per-host state during a run; its variables are built by :mod:`corral.engine.variables`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.playbook.model import Task


@dataclass
class HostState:
    """What a run knows about one host; each play works on its own copy (:meth:`for_play`).

    Variables, facts and the connection belong to the run and are shared by the
    copies; failure flags and pending handler notifications belong to one play,
    so plays running side by side in a DAG do not trip over each other.
    """

    name: str
    inventory_vars: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)
    host_vars: dict[str, Any] = field(default_factory=dict)  # set_fact and register
    hidden_vars: set[str] = field(default_factory=set)  # of host_vars, set by no_log tasks
    notified: set[str] = field(default_factory=set)
    failed: bool = False
    unreachable: bool = False
    ended: bool = False  # meta: end_host
    completed: list[Task] = field(default_factory=list)  # tasks with a rollback, as they completed
    ran: bool = False  # the play ran at least one unit here
    last_failure: tuple[Task, dict[str, Any]] | None = None  # (task, result), for rescue

    @property
    def active(self) -> bool:
        return not (self.failed or self.unreachable or self.ended)

    def for_play(self) -> HostState:
        """A fresh per-play view sharing this host's variables and facts."""
        return HostState(
            self.name, self.inventory_vars, self.facts, self.host_vars, self.hidden_vars
        )

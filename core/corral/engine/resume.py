"""What a resumed run knows from the run it continues."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ResumeState:
    """Units already done and the host variables they produced, from the run store."""

    # unit_id -> {"status": "ok"|"changed", "result": {...}} for units that finished ok or changed
    done: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # host -> registered and set_fact variables, as last stored
    host_vars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # host -> facts
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # --failed-only: the hosts that failed or were unreachable
    limit_hosts: tuple[str, ...] | None = None
    # The directory the interrupted run's playbook was in. The resumed run loads its
    # playbook from the snapshot, but files and templates that steps read at run time
    # (``files/``, ``templates/``, lookups) are looked for there too.
    source_dir: str = ""

    @cached_property
    def replayed(self) -> frozenset[str]:
        """The ids of the units the resumed run replays (a loop's unit if any item is done)."""
        return frozenset(_without_item(key) for key in self.done)

    def origin_of(self, directory: Path, base: Path) -> Path | None:
        """Where ``directory`` of the snapshot, materialised with its playbook in ``base``,
        was for the interrupted run; None when that is not known."""
        if not self.source_dir:
            return None
        relative = os.path.relpath(directory, base)
        return Path(os.path.normpath(Path(self.source_dir) / relative))


def _without_item(key: str) -> str:
    """``task@seq#host`` of a unit id, without a loop item's ``/N``."""
    head, slash, item = key.rpartition("/")
    return head if slash and item.isdigit() and "#" in head else key


def unit_id(task_uid: str, seq: tuple[int, ...], host: str, item: int | None = None) -> str:
    """The stable id of a unit: the same task, position and host give the same id in every run."""
    base = f"{task_uid}@{'.'.join(str(n) for n in seq)}#{host}"
    return base if item is None else f"{base}/{item}"

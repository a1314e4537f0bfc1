"""The values a policy works on: the planned run it judges and the verdicts it gives.

They are plain frozen dataclasses so that a plugin's ``corral_check_run`` can read a
:class:`PlannedRun` and return :class:`Verdict` values without importing anything else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from corral.errors import Location

__all__ = ["Outcome", "PlannedPlay", "PlannedRun", "Verdict"]

# What one rule decides about one run:
#   allow          the rule applies and the run may go
#   refuse         the run must not start (exit 4, nothing touched)
#   approval       the plays named wait for a person's approval before they start
#   not applicable the rule does not concern this run (another group, check mode...)
Outcome = Literal["allow", "refuse", "approval", "not applicable"]


@dataclass(frozen=True)
class PlannedPlay:
    """One play of the run as planned: its hosts (after ``--limit``) and their groups."""

    name: str
    uid: str
    pattern: str  # the play's ``hosts:`` as written
    hosts: tuple[str, ...]
    groups: frozenset[str]  # every group one of ``hosts`` belongs to (``all`` too)


@dataclass(frozen=True)
class PlannedRun:
    """A run as the policy sees it, before any host is touched.

    ``params`` are the resolved playbook params and the ``-e`` extra vars (the params
    first); secret values are :class:`corral.Secret`. ``user`` is ``user@host`` of
    whoever starts the run (for a run ``corral serve`` queued, who queued it);
    ``trigger`` is ``cli`` or what started a server run (``cron:...``, ``webhook:...``,
    ``api``). ``project`` is the directory the run is started in.
    """

    playbook: Path
    project: Path
    plays: tuple[PlannedPlay, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    limit: str | None = None
    user: str = ""
    check: bool = False
    trigger: str = "cli"

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host some play of the run works on, once, in play order."""
        return tuple(dict.fromkeys(h for play in self.plays for h in play.hosts))

    def playbook_names(self) -> tuple[str, ...]:
        """The names a rule's playbook globs are matched against.

        The path relative to the project (``playbooks/backup.yml``) when the playbook
        is inside it, the path as given, and the file name (``backup.yml``).
        """
        names = [str(self.playbook), self.playbook.name]
        with contextlib.suppress(ValueError):  # a playbook outside the project
            names.insert(0, self.playbook.resolve().relative_to(self.project.resolve()).as_posix())
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Verdict:
    """What one rule (of policy.yml, or of a plugin) decides about a planned run.

    ``plays`` names (by play name) the plays an ``approval`` verdict makes wait;
    empty means every play of the run. ``approval`` holds the ``approval:`` settings
    a play gets (``message``, ``timeout``, ``forbid_starter``; the play keyword's).
    ``location`` is where the rule is written (policy.yml rules); ``plugin`` the
    plugin that gave the verdict (set by corral; empty for policy.yml rules).
    """

    rule: str
    outcome: Outcome
    reason: str = ""
    hint: str = ""
    plays: tuple[str, ...] = ()
    approval: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None
    plugin: str = ""
    detail: str = ""  # what the rule found: "12 hosts, limit 10", "in freeze until ..."

    def as_record(self) -> dict[str, Any]:
        """The verdict as the run store and ``corral plan --output json`` show it."""
        record: dict[str, Any] = {"rule": self.rule, "outcome": self.outcome}
        for key in ("reason", "detail", "plugin"):
            value = getattr(self, key)
            if value:
                record[key] = value
        if self.plays:
            record["plays"] = list(self.plays)
        if self.location is not None:
            record["location"] = str(self.location)
        return record

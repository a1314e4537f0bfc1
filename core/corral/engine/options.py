"""What the command line (or an embedding program) asks of a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.engine.approval import Approver
from corral.engine.resume import ResumeState

DEFAULT_FORKS = 100


@dataclass(frozen=True)
class RunOptions:
    """The knobs of one run; every field has the default ``corral run`` uses."""

    check: bool = False
    diff: bool = False
    forks: int = DEFAULT_FORKS
    limit: str | None = None
    tags: frozenset[str] = frozenset()
    skip_tags: frozenset[str] = frozenset()
    start_at_task: str | None = None
    # ``-e`` values, and the playbook's resolved ``params:`` (``-p``), kept apart: their
    # places in the precedence order are in corral.engine.variables.
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    verbosity: int = 0
    run_id: str = ""
    resume: ResumeState | None = None
    max_parallel_plays: int = 4  # plays of a DAG (``needs:``) running at once
    approver: Approver | None = None  # who answers approvals; None: wait for the timeout
    # Seconds running units get to finish after the first SIGINT/SIGTERM.
    grace_period: float = 30.0
    # Host variables under every inventory variable, from the command line (-u, -b,
    # --private-key, -c, -k, -K...) and ansible.cfg (corral.commands.connect).
    host_defaults: Mapping[str, Any] = field(default_factory=dict)
    # The project policy's decision (corral.policy), recorded as the run's ``policy`` event.
    policy: Mapping[str, Any] | None = None
    # Cooperative units share one thread (corral.cooperative); False gives each a thread
    # of its own, as before the hub (CORRAL_HUB=off: a way back, should the hub misbehave).
    hub: bool = True
    # Where the units run (corral.executors): ``local``, or a plugin's (``--executor``).
    executor: str = "local"


def hub_wanted(environ: Mapping[str, str]) -> bool:
    """``CORRAL_HUB``: on unless it says off (``off``, ``0``, ``false``, ``no``)."""
    return environ.get("CORRAL_HUB", "on").strip().lower() not in ("off", "0", "false", "no")


def task_selected(tags: frozenset[str], wanted: frozenset[str], skipped: frozenset[str]) -> bool:
    """Ansible's tag selection for one task, special tags included.

    ``always``, ``never``, ``tagged``, ``untagged`` and ``all`` mean what they mean in Ansible.
    """
    if "always" in tags and "always" not in skipped:
        selected = True
    elif wanted and "all" not in wanted:
        selected = bool(
            tags & wanted or ("tagged" in wanted and tags) or ("untagged" in wanted and not tags)
        )
    else:
        selected = "never" not in tags
    if "never" in tags and not (tags - {"never"}) & wanted and "never" not in wanted:
        selected = False
    if tags & skipped or ("tagged" in skipped and tags) or ("untagged" in skipped and not tags):
        selected = False
    return selected

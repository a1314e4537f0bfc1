"""Shards: a round's units run in another process, the run's state kept by the coordinator.

An executor that runs units elsewhere (the ``processes`` executor, the ``celery``
plugin) splits a round of the linear strategy into shards of hosts. For each shard
the coordinator, which alone holds the run's state, packs what a unit reads: the
task, the play and its variables, the magic variables and each host's variables
and facts (:func:`pack_shard`). A worker builds a throw-away run around them, runs
the units as the local executor would and packs what they changed and reported
(:func:`run_shard`). The coordinator puts that back (:func:`apply_shard`): host
variables, facts, failure flags and handler notifications, the recap, and the events,
emitted again in its own run, so the run store, ``history``, ``report`` and
``resume`` see what they see for a local run.

What stays on the coordinator (:func:`runs_remotely` is false): controller steps
(``debug``, ``set_fact``, ``http``, approvals...), delegated tasks, ``connection:``
tasks, and units a resumed run replays. Hosts other than the shard's are seen through
``hostvars`` only when the run's text mentions it: then every shard carries every
host's variables and facts (:func:`needs_all_hosts`).

Payloads are pickles: the ``processes`` executor passes them through its own pipes,
and the ``celery`` plugin seals them (AES-GCM) before they reach a broker. Workers
need the project at the same path as the coordinator (templates and files are read
there).
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.engine.hosts import HostState
from corral.engine.results import UnitResult
from corral.engine.resume import unit_id
from corral.executors import UnitWork
from corral.playbook.model import Play, Playbook, Task
from corral.playbook.templating.content_plugins import ContentPlugins

if TYPE_CHECKING:
    from corral.engine.context import PlayContext, RunContext
    from corral.engine.options import RunOptions
    from corral.inventory import Inventory

# A file bigger than this is not a template anyone reads hostvars from.
_SCANNED_BYTES = 1 << 20
_ROLE_DIRS = frozenset({"tasks", "handlers", "vars", "defaults", "meta"})

__all__ = [
    "HostSnapshot",
    "Shard",
    "ShardResult",
    "apply_shard",
    "needs_all_hosts",
    "pack_shard",
    "run_shard",
    "runs_remotely",
    "shards_of",
    "split_remote",
]


@dataclass
class HostSnapshot:
    """What a worker needs of one host (and what it sends back, after the unit)."""

    name: str
    inventory_vars: dict[str, Any]
    facts: dict[str, Any]
    host_vars: dict[str, Any]
    hidden_vars: set[str] = field(default_factory=set)
    notified: set[str] = field(default_factory=set)
    failed: bool = False
    unreachable: bool = False
    completed: bool = False  # the unit's task joined the host's rollback list


@dataclass
class Shard:
    """One round's units for some hosts, with everything they read."""

    run_id: str
    options: RunOptions  # without what cannot leave the process (approver, resume)
    playbook_path: str
    play: Play
    play_vars: dict[str, Any]
    magic: dict[str, Any]  # without hostvars: the worker's own stands in for it
    task: Task
    seq: tuple[int, ...]
    handler: bool
    cooperative: bool
    hosts: list[HostSnapshot]
    include_vars: dict[str, Mapping[str, Any]]  # per host
    groups: dict[str, list[str]]
    others: list[HostSnapshot]  # every other host, when hostvars is read (else empty)
    secrets: list[str]  # what the coordinator's bus redacts: the worker's redacts it too
    content: ContentPlugins | None = None  # the playbook's own filters and tests: where they are


@dataclass
class ShardResult:
    """What a shard's units did: per host its outcome and its state after, and the events."""

    outcomes: dict[str, UnitResult]
    states: dict[str, HostSnapshot]
    events: list[dict[str, Any]]


# -- on the coordinator ---------------------------------------------------------


def runs_remotely(run: RunContext, work: UnitWork) -> bool:
    """Whether ``work`` may run on a worker (see the module docstring for what may not)."""
    step = run.registry.steps.get(work.task.action)
    task = work.task
    if step is None or step.on != "target" or task.delegate_to or task.connection is not None:
        return False
    if step.once_per_batch or step.bypass_host_loop or task.throttle is not None:
        return False
    # A unit the interrupted run finished is replayed here from the store; the others
    # of a resumed run go to the workers as in any run.
    resume = run.options.resume
    return resume is None or unit_id(task.uid, work.seq, work.host) not in resume.replayed


def split_remote(
    run: RunContext, work: Sequence[UnitWork]
) -> tuple[list[UnitWork], list[UnitWork]]:
    """``work`` as (the units a worker may run, the units that run here)."""
    remote: list[UnitWork] = []
    here: list[UnitWork] = []
    for unit in work:
        (remote if runs_remotely(run, unit) else here).append(unit)
    return remote, here


def needs_all_hosts(playbook: Playbook, inventory: Inventory) -> bool:
    """Whether a template may read ``hostvars``: then every shard carries every host.

    Looked for in the playbook and every file it loaded, the templates of the project
    and of its roles (``templates/``, ``*.j2``), and the inventory's variables.
    """
    if "hostvars" in playbook.text:
        return True
    for path in (*playbook.files, *_templates(playbook)):
        try:
            if path.stat().st_size < _SCANNED_BYTES and b"hostvars" in path.read_bytes():
                return True
        except OSError:
            return True  # unreadable here: assume the worst
    return any("hostvars" in repr(inventory.host_vars_view(h)) for h in inventory.hosts)


def _templates(playbook: Playbook) -> set[Path]:
    # The project's directory and each role's (the parent of its tasks/, vars/...).
    roots = {playbook.base_dir}
    roots.update(p.parent.parent for p in playbook.files if p.parent.name in _ROLE_DIRS)
    found: set[Path] = set()
    for root in roots:
        found.update(root.glob("**/*.j2"))
        found.update(p for p in root.glob("**/templates/**/*") if p.is_file())
    return found


def shards_of(work: Sequence[UnitWork], size: int) -> Iterator[list[UnitWork]]:
    """``work`` in pieces of at most ``size`` units."""
    for start in range(0, len(work), max(1, size)):
        yield list(work[start : start + size])


def _snapshot(state: HostState) -> HostSnapshot:
    return HostSnapshot(
        name=state.name,
        inventory_vars=state.inventory_vars,
        facts=state.facts,
        host_vars=state.host_vars,
        hidden_vars=set(state.hidden_vars),
    )


def pack_shard(work: Sequence[UnitWork], *, all_hosts: bool, forks: int) -> bytes:
    """The pickled :class:`Shard` for ``work`` (units of one task on distinct hosts).

    ``forks``: how many of them the worker runs at once.
    """
    first = work[0]
    pctx = first.play
    run = pctx.run
    names = {unit.host for unit in work}
    others = (
        [_snapshot(run.state(h)) for h in run.inventory.hosts if h not in names]
        if all_hosts
        else []
    )
    shard = Shard(
        run_id=run.bus.run_id,
        options=dataclasses.replace(
            run.options, approver=None, resume=None, policy=None, forks=forks
        ),
        playbook_path=str(run.playbook.path),
        play=pctx.play,
        play_vars=pctx.play_vars,
        magic={k: v for k, v in pctx.magic.items() if k != "hostvars"},
        task=first.task,
        seq=first.seq,
        handler=first.handler,
        cooperative=first.cooperative,
        hosts=[_snapshot(unit.state) for unit in work],
        include_vars={unit.host: unit.include_vars for unit in work},
        groups=run.inventory.groups_mapping(),
        others=others,
        secrets=sorted(run.bus.secrets),
        content=run.templar.content,
    )
    return pickle.dumps(shard, protocol=pickle.HIGHEST_PROTOCOL)


def apply_shard(pctx: PlayContext, work: Sequence[UnitWork], data: bytes) -> dict[str, UnitResult]:
    """Put a worker's :class:`ShardResult` for ``work`` into the run; the outcomes, by host."""
    result: ShardResult = pickle.loads(data)  # noqa: S301 - our own worker's answer
    run, task = pctx.run, work[0].task
    for event in result.events:
        kind = event["event"]
        if kind == "warning":
            run.bus.warn(event.get("message", ""))
            continue
        if kind == "task_result":
            changed = bool((event.get("result") or {}).get("changed"))
            run.recap.count(event["host"], event["status"], changed=changed)
        run.bus.relay(event)
    for unit in work:
        state, after = unit.state, result.states[unit.host]
        outcome = result.outcomes[unit.host]
        # The dicts a play's state shares with the run's: changed in place.
        state.host_vars.update(after.host_vars)
        state.facts.update(after.facts)
        state.hidden_vars.clear()
        state.hidden_vars.update(after.hidden_vars)
        state.notified.update(after.notified)
        state.ran = True
        if after.failed:
            state.failed = True
            state.last_failure = (task, outcome.registered)
        if after.unreachable:
            state.unreachable = True
        if after.completed:
            state.completed.append(task)
    return result.outcomes


# -- on a worker ------------------------------------------------------------------


def run_shard(data: bytes, registry: Any, environ: Mapping[str, str], journal: Any = None) -> bytes:
    """Run a pickled :class:`Shard`'s units here; the pickled :class:`ShardResult`.

    ``journal`` (a :class:`corral.engine.shard_run.Journal`): where finished units are
    written down, so that a shard delivered twice runs each unit once.
    """
    from corral.engine.shard_run import execute_shard

    shard: Shard = pickle.loads(data)  # noqa: S301 - from our coordinator (sealed on brokers)
    result = execute_shard(shard, registry, environ, journal)
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)

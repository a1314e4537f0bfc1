"""A shard's units, run by a worker around a throw-away run (see corral.engine.shards)."""

from __future__ import annotations

import pickle
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from corral.engine.context import PlayContext, RunContext
from corral.engine.events import EventBus
from corral.engine.hosts import HostState
from corral.engine.local import LocalExecutor
from corral.engine.plan import Unit
from corral.engine.results import UnitResult
from corral.engine.resume import unit_id
from corral.engine.shard_connections import kept_for
from corral.engine.shards import HostSnapshot, Shard, ShardResult
from corral.engine.taskrun import TaskRunner
from corral.engine.variables import HostVars, RunVariables
from corral.errors import CorralError
from corral.executors import UnitWork
from corral.playbook.model import Playbook
from corral.playbook.templating.environment import Verbatim
from corral.playbook.templating.templar import Templar

if TYPE_CHECKING:
    from corral.inventory import Inventory
    from corral.plugins import Registry

__all__ = ["Journal", "ShardInventory", "execute_shard"]


class Journal(Protocol):
    """Where a worker writes down each unit it finished, so a shard delivered again (its
    first worker died) runs only the units that had not finished."""

    def finished(self, run_id: str, unit_ids: Sequence[str]) -> dict[str, bytes]:
        """What :meth:`record` kept for those of the run's ``unit_ids`` that finished."""
        ...

    def record(self, run_id: str, unit_id: str, data: bytes) -> None:
        """Keep ``data`` (a pickled unit's piece of a shard's answer) under ``unit_id``."""
        ...


class ShardInventory:
    """What a shard knows of the run's inventory: its hosts' variables and the groups.

    Stands in for :class:`corral.inventory.Inventory` where a unit reads it (host
    variables, ``hostvars``, ``groups``); a worker never selects hosts or adds any.
    """

    def __init__(self, shard: Shard) -> None:
        self._vars = {h.name: h.inventory_vars for h in (*shard.hosts, *shard.others)}
        self._groups = shard.groups
        self.warnings: list[str] = []

    @property
    def hosts(self) -> list[str]:
        return list(self._vars)

    def has_host(self, name: str) -> bool:
        return name in self._vars

    def host_vars_view(self, name: str) -> Mapping[str, Any]:
        return self._vars[name]

    def groups_mapping(self) -> dict[str, list[str]]:
        return self._groups


def execute_shard(
    shard: Shard, registry: Registry, environ: Mapping[str, str], journal: Journal | None = None
) -> ShardResult:
    """Run the shard's units with the local executor; what they did and reported.

    With a ``journal``, units it holds are not run again: their recorded outcome, state
    and events stand in the answer; each unit that ends here is recorded in it.
    """
    events: list[dict[str, Any]] = []  # those of no host (warnings)
    by_host: dict[str, list[dict[str, Any]]] = {h.name: [] for h in shard.hosts}

    def keep(event: Mapping[str, Any]) -> None:
        by_host.get(event.get("host", ""), events).append(dict(event))

    bus = EventBus(shard.run_id, [keep])
    bus.secrets.update(shard.secrets)
    base = Path(shard.playbook_path).parent
    options = shard.options
    kept = kept_for(shard.run_id)  # the connections the run's earlier shards opened here
    run = RunContext(
        registry=registry,
        templar=Templar(
            functions=registry.template_functions,
            search_paths=[base],
            environ=environ,
            content=shard.content,
        ),
        options=options,
        bus=bus,
        inventory=cast("Inventory", ShardInventory(shard)),
        playbook=Playbook(path=Path(shard.playbook_path), plays=(shard.play,)),
        variables=RunVariables(params=options.params, extra_vars=options.extra_vars),
        **kept.context_fields(),
    )
    for snap in (*shard.hosts, *shard.others):
        run.states[snap.name] = HostState(
            snap.name, snap.inventory_vars, snap.facts, snap.host_vars, snap.hidden_vars
        )
    magic = {**shard.magic, "hostvars": Verbatim(HostVars(run))}
    pctx = PlayContext(run=run, play=shard.play, play_vars=shard.play_vars, magic=magic)
    runner = TaskRunner(pctx)
    ids = {h.name: unit_id(shard.task.uid, shard.seq, h.name) for h in shard.hosts}
    finished = journal.finished(shard.run_id, list(ids.values())) if journal is not None else {}
    states = {
        snap.name: run.states[snap.name].for_play()
        for snap in shard.hosts
        if ids[snap.name] not in finished
    }
    units = {
        name: Unit(shard.task, shard.seq, shard.include_vars[name], shard.handler)
        for name in states
    }

    def here(name: str) -> UnitResult:
        outcome = _execute(runner, states[name], units[name])
        if journal is not None:
            piece = (outcome, _after(states[name]), by_host[name])
            data = pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)
            journal.record(shard.run_id, ids[name], data)
        return outcome

    work = [
        UnitWork(
            host=name,
            task=shard.task,
            seq=shard.seq,
            include_vars=units[name].include_vars,
            handler=shard.handler,
            cooperative=shard.cooperative,
            here=partial(here, name),
            play=pctx,
            state=state,
        )
        for name, state in states.items()
    ]
    executor = LocalExecutor(options.forks, hub=options.hub)
    run.executor = executor
    try:
        outcomes = dict(executor.run_units(work))
    finally:
        executor.close()
        kept.used = time.monotonic()
    after = {name: _after(state) for name, state in states.items()}
    host_of = {unit: host for host, unit in ids.items()}
    for unit, data in finished.items():
        host = host_of[unit]
        outcomes[host], after[host], by_host[host] = pickle.loads(data)  # noqa: S301 - ours
    answer = [event for name in ids for event in by_host[name]]
    return ShardResult(outcomes=outcomes, states=after, events=[*answer, *events])


def _after(state: HostState) -> HostSnapshot:
    """What the coordinator takes back of a host after its unit."""
    return HostSnapshot(
        name=state.name,
        inventory_vars={},  # the coordinator has them
        facts=state.facts,
        host_vars=state.host_vars,
        hidden_vars=state.hidden_vars,
        notified=state.notified,
        failed=state.failed,
        unreachable=state.unreachable,
        completed=bool(state.completed),
    )


def _execute(runner: TaskRunner, state: HostState, unit: Unit) -> UnitResult:
    # As PlayRunner._execute, without the throttle: throttled tasks stay on the coordinator.
    try:
        return runner.execute(
            state, unit.task, unit.include_vars, seq=unit.seq, handler=unit.handler
        )
    except CorralError as exc:
        return runner.fail(state, unit, str(exc))

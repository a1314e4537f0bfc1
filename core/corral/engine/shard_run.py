"""A shard's units, run by a worker around a throw-away run (see corral.engine.shards)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from corral.engine.context import PlayContext, RunContext
from corral.engine.events import EventBus
from corral.engine.hosts import HostState
from corral.engine.local import LocalExecutor
from corral.engine.plan import Unit
from corral.engine.results import UnitResult
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

__all__ = ["ShardInventory", "execute_shard"]


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


def execute_shard(shard: Shard, registry: Registry, environ: Mapping[str, str]) -> ShardResult:
    """Run the shard's units with the local executor; what they did and reported."""
    events: list[dict[str, Any]] = []

    def keep(event: Mapping[str, Any]) -> None:
        events.append(dict(event))

    bus = EventBus(shard.run_id, [keep])
    bus.secrets.update(shard.secrets)
    base = Path(shard.playbook_path).parent
    options = shard.options
    run = RunContext(
        registry=registry,
        templar=Templar(
            functions=registry.template_functions, search_paths=[base], environ=environ
        ),
        options=options,
        bus=bus,
        inventory=cast("Inventory", ShardInventory(shard)),
        playbook=Playbook(path=Path(shard.playbook_path), plays=(shard.play,)),
        variables=RunVariables(params=options.params, extra_vars=options.extra_vars),
    )
    for snap in (*shard.hosts, *shard.others):
        run.states[snap.name] = HostState(
            snap.name, snap.inventory_vars, snap.facts, snap.host_vars, snap.hidden_vars
        )
    magic = {**shard.magic, "hostvars": Verbatim(HostVars(run))}
    pctx = PlayContext(run=run, play=shard.play, play_vars=shard.play_vars, magic=magic)
    runner = TaskRunner(pctx)
    states = {snap.name: run.states[snap.name].for_play() for snap in shard.hosts}
    executor = LocalExecutor(options.forks, hub=options.hub)
    run.executor = executor
    units = {
        name: Unit(shard.task, shard.seq, shard.include_vars[name], shard.handler)
        for name in states
    }
    work = [
        UnitWork(
            host=name,
            task=shard.task,
            seq=shard.seq,
            include_vars=units[name].include_vars,
            handler=shard.handler,
            cooperative=shard.cooperative,
            here=partial(_execute, runner, state, units[name]),
            play=pctx,
            state=state,
        )
        for name, state in states.items()
    ]
    try:
        outcomes = dict(executor.run_units(work))
    finally:
        try:
            executor.close()
        finally:
            run.close_connections()
    after = {
        name: HostSnapshot(
            name=name,
            inventory_vars={},  # the coordinator has them
            facts=state.facts,
            host_vars=state.host_vars,
            hidden_vars=state.hidden_vars,
            notified=state.notified,
            failed=state.failed,
            unreachable=state.unreachable,
            completed=bool(state.completed),
        )
        for name, state in states.items()
    }
    return ShardResult(outcomes=outcomes, states=after, events=events)


def _execute(runner: TaskRunner, state: HostState, unit: Unit) -> UnitResult:
    # As PlayRunner._execute, without the throttle: throttled tasks stay on the coordinator.
    try:
        return runner.execute(
            state, unit.task, unit.include_vars, seq=unit.seq, handler=unit.handler
        )
    except CorralError as exc:
        return runner.fail(state, unit, str(exc))

"""Dynamic includes (``include_tasks``): which tasks they bring for a host, and their results."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from corral.engine.context import PlayContext, RunContext
from corral.engine.hosts import HostState
from corral.engine.results import SKIP_REASON, Status
from corral.engine.variables import task_variables
from corral.playbook.model import Include, TaskNode
from corral.playbook.templating.environment import Verbatim


def resolve_include(
    pctx: PlayContext, include: Include, state: HostState, include_vars: Mapping[str, Any]
) -> list[tuple[Sequence[TaskNode], dict[str, Any]]]:
    """The tasks an include brings for one host: one (tasks, include vars) per loop item."""
    from corral.playbook.loader import load_included_tasks

    run = pctx.run
    variables = task_variables(
        state,
        run.variables,
        play_vars=pctx.play_vars,
        task_vars={},
        include_vars={**include.vars, **include_vars},
        magic=pctx.magic,
    )
    templar = run.templar
    if include.when and not templar.evaluate_condition(
        list(include.when), variables, location=include.location
    ):
        _include_result(run, include, state, "skipped", None)
        return []
    items: list[dict[str, Any]] = [{}]
    if include.loop is not None:
        loop_var = str(include.loop_control.get("loop_var", "item"))
        values = templar.render(include.loop, variables, location=include.location)
        items = [{loop_var: Verbatim(value)} for value in values]
    resolved: list[tuple[Sequence[TaskNode], dict[str, Any]]] = []
    for item_vars in items:
        tasks = include.tasks
        if tasks is None:
            name = templar.render(
                include.file, {**variables, **item_vars}, location=include.location
            )
            tasks = load_included_tasks(run.registry.steps, include, str(name))
        resolved.append((tasks, {**include.vars, **item_vars}))
        _include_result(run, include, state, "ok", item_vars)
    return resolved


def _include_result(
    run: RunContext,
    include: Include,
    state: HostState,
    status: Status,
    item: Mapping[str, Any] | None,
) -> None:
    """A dynamic include is a result of its own (counted, as Ansible counts it)."""
    if include.static:
        return
    run.recap.count(state.name, status)
    result: dict[str, Any] = {"changed": False, "include": str(include.file)}
    if item:
        result.update({k: getattr(v, "value", v) for k, v in item.items()})
    if status == "skipped":
        result.update(skipped=True, skip_reason=SKIP_REASON)
    now = time.time()
    run.bus.emit(
        "task_result",
        host=state.name,
        task=include.name,
        action="include_tasks",
        uid=include.uid,
        unit_id=f"{include.uid}#{state.name}",
        handler=False,
        status=status,
        result=result,
        started=now,
        ended=now,
        attempts=1,
    )

"""Dynamic includes (``include_tasks``): which tasks they bring for a host, and their results."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from corral.engine.context import PlayContext, RunContext
from corral.engine.hosts import HostState
from corral.engine.loops import loop_items
from corral.engine.results import SKIP_REASON, Status
from corral.engine.variables import task_variables
from corral.errors import PlaybookError
from corral.playbook.model import Include, Task, TaskNode
from corral.playbook.templating.environment import Verbatim


def resolve_include(
    pctx: PlayContext, include: Include, state: HostState, include_vars: Mapping[str, Any]
) -> list[tuple[Sequence[TaskNode], dict[str, Any]]]:
    """The tasks an include brings for one host: one (tasks, include vars) per loop item."""
    from corral.playbook.loader import load_included_tasks
    from corral.playbook.roles.tasks import load_included_role

    run = pctx.run
    variables = task_variables(
        state,
        run.variables,
        play_vars=pctx.play_vars,
        task_vars={},
        include_vars={**include.vars, **include_vars},
        magic=pctx.magic,
        task=include,
        role_defaults=pctx.play.role_defaults,
        remote_user=run.play_user(state.name, pctx.play.remote_user),
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
        values = loop_items(
            templar,
            include.loop_kind,
            include.loop,
            variables,
            search_paths=(include.base_dir, run.playbook.base_dir),
            action="include_tasks",
            location=include.location,
            what=include.name,
        )
        items = [{loop_var: Verbatim(value)} for value in values]
    resolved: list[tuple[Sequence[TaskNode], dict[str, Any]]] = []
    for item_vars in items:
        tasks = include.tasks
        if tasks is None:
            scope = {**variables, **item_vars}
            # include_role: every argument may be a template; include_tasks: the file name.
            target = include.role_args if include.role_args is not None else include.file
            rendered = templar.render(target, scope, location=include.location)
            try:
                if include.role_args is not None:
                    tasks = load_included_role(run.registry.steps, include, rendered)
                else:
                    tasks = load_included_tasks(run.registry.steps, include, str(rendered))
            except PlaybookError as exc:
                # The file is known only now, for this host: its problems (an include
                # cycle, nesting too deep, a missing or invalid file) fail this host's
                # include, as a failed task would, and leave the other hosts alone.
                _include_failed(run, include, state, exc, item_vars)
                return []
        resolved.append((tasks, {**include.vars, **item_vars}))
        _include_result(run, include, state, "ok", item_vars)
    return resolved


def _include_failed(
    run: RunContext,
    include: Include,
    state: HostState,
    error: PlaybookError,
    item: Mapping[str, Any],
) -> None:
    """Fail the host at ``include``: counted, shown and rescuable like a failed task."""
    result: dict[str, Any] = {"changed": False, "failed": True, "msg": str(error)}
    if error.hint:
        result["hint"] = error.hint
    state.failed = True
    # What a rescue section sees as ansible_failed_task and ansible_failed_result.
    task = Task(
        name=include.name,
        action="include_tasks",
        args={},
        location=include.location,
        uid=include.uid,
    )
    state.last_failure = (task, result)
    _include_result(run, include, state, "failed", item, result)


def _include_result(
    run: RunContext,
    include: Include,
    state: HostState,
    status: Status,
    item: Mapping[str, Any] | None,
    outcome: Mapping[str, Any] | None = None,
) -> None:
    """A dynamic include is a result of its own (counted, as Ansible counts it)."""
    if include.static:
        return
    run.recap.count(state.name, status)
    result: dict[str, Any] = {"changed": False, "include": str(include.file), **(outcome or {})}
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

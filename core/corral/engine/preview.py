"""``corral plan``: what a run would do, in what order and in which batches, without running it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.engine.dag import levels
from corral.engine.options import RunOptions
from corral.engine.play import serial_batches
from corral.engine.prepare import PreparedRun
from corral.engine.run import _ordered
from corral.engine.variables import RunVariables, host_pattern, play_serial
from corral.playbook.model import Block, Include, Play, Task, TaskNode


def _task_lines(nodes: tuple[TaskNode, ...], depth: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in nodes:
        if isinstance(node, Task):
            entry: dict[str, Any] = {
                "task": node.name,
                "action": node.action,
                "location": str(node.location),
            }
            if node.rollback:
                entry["rollback"] = len(node.rollback)
            if node.retry or node.until:
                entry["retries"] = True
            out.append(entry)
        elif isinstance(node, Block):
            out.extend(_task_lines(node.block, depth + 1))
            out.extend(_task_lines(node.rescue, depth + 1))
            out.extend(_task_lines(node.always, depth + 1))
        elif isinstance(node, Include):
            if node.tasks is not None:
                out.extend(_task_lines(node.tasks, depth + 1))
            else:
                out.append(
                    {"task": node.name, "action": "include_tasks", "location": str(node.location)}
                )
    return out


def build_plan(
    prepared: PreparedRun, options: RunOptions, estimates: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """A JSON-ready description of the run: plays by DAG level, hosts, batches, tasks, estimates."""
    plays = prepared.playbook.plays
    dag = any(play.needs for play in plays)
    order = (
        levels([p.name for p in plays], {p.name: p.needs for p in plays})
        if dag
        else [[p.name] for p in plays]
    )
    by_name = {p.name: p for p in plays}
    described = []
    for level, names in enumerate(order):
        for name in names:
            described.append(_describe(by_name[name], level, prepared, options, estimates or {}))
    total = sum(p["estimate"] or 0 for p in described) if estimates else None
    return {
        "playbook": str(prepared.playbook.path),
        "dag": dag,
        "levels": order,
        "plays": described,
        "estimate": total,
    }


def _describe(
    play: Play,
    level: int,
    prepared: PreparedRun,
    options: RunOptions,
    estimates: Mapping[str, float],
) -> dict[str, Any]:
    variables = RunVariables(params=prepared.params, extra_vars=options.extra_vars)
    pattern = host_pattern(play, variables, prepared.templar)
    hosts = _ordered(prepared.inventory.select(pattern, limit=options.limit), play.order)
    tasks = _task_lines((*play.pre_tasks, *play.tasks, *play.post_tasks))
    return {
        "play": play.name,
        "uid": play.uid,
        "level": level,
        "needs": list(play.needs),
        "hosts": hosts,
        "batches": serial_batches(hosts, play_serial(play, variables, prepared.templar)),
        "strategy": play.strategy,
        "approval": dict(play.approval) if play.approval else None,
        "tasks": tasks,
        "handlers": [h.name for h in play.handlers],
        "rollback": len(play.rollback),
        "estimate": estimates.get(play.uid),
    }


def plan_text(plan: Mapping[str, Any]) -> str:
    """The plan for people."""
    lines = [f"Plan for {plan['playbook']}" + (" (plays form a DAG)" if plan["dag"] else "")]
    for play in plan["plays"]:
        estimate = (
            f", about {_seconds(play['estimate'])} from past runs"
            if play["estimate"] is not None
            else ""
        )
        needs = f" after {', '.join(play['needs'])}" if play["needs"] else ""
        lines.append("")
        lines.append(f"level {play['level']}: PLAY [{play['play']}]{needs}{estimate}")
        if play["approval"]:
            lines.append(f"  waits for approval: {play['approval'].get('message', '')}")
        batches = play["batches"]
        if len(batches) > 1:
            shown = "; ".join(
                f"{len(b)}: {', '.join(b[:5])}{'...' if len(b) > 5 else ''}" for b in batches
            )
            lines.append(f"  {len(play['hosts'])} hosts in {len(batches)} batches ({shown})")
        else:
            count = len(play["hosts"])
            lines.append(f"  {count} host{'s' if count != 1 else ''}: {_names(play['hosts'])}")
        for task in play["tasks"]:
            extra = " [rollback]" if task.get("rollback") else ""
            lines.append(f"  - {task['task']} ({task['action']}){extra}")
        if play["handlers"]:
            lines.append(f"  handlers: {', '.join(play['handlers'])}")
    if plan["estimate"] is not None:
        lines.append("")
        lines.append(f"estimated total: {_seconds(plan['estimate'])}")
    return "\n".join(lines)


def _names(hosts: list[str], shown: int = 10) -> str:
    return ", ".join(hosts[:shown]) + ("..." if len(hosts) > shown else "")


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value >= 1 else f"{value * 1000:.0f}ms"

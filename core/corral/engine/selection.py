"""What the command line selects, checked before a run: hosts to target, a task to start at.

Ansible stops with "Specified inventory, host pattern and/or --limit leaves us with no
hosts to target" when nothing is left to run on; corral does the same before it touches a
host, naming the patterns. A play whose pattern matches nothing while another play has
hosts is skipped with a warning, as in Ansible. ``--start-at-task`` that names no task of
the playbook is an error too (Ansible prints one and then runs nothing).

Exit codes: 5 (bad usage) when a ``--limit`` or ``--start-at-task`` given on the
command line selects nothing; 4 when, without ``--limit``, no play's ``hosts:`` pattern
matches a host of the inventory (the playbook and inventory do not fit together).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from corral.errors import InventoryError, UsageError
from corral.playbook.model import Block, Include, Play, Playbook, Task, TaskNode
from corral.playbook.module_names import BUILTIN_PREFIXES

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.inventory import Inventory

__all__ = ["added_host_variables", "adds_hosts", "check_selection", "plays_without_hosts"]

NO_HOSTS = "Specified inventory, host pattern and/or --limit leaves us with no hosts to target"
# Steps that add hosts while the run goes: a later play may target hosts not there yet.
_ADDS_HOSTS = frozenset(
    f"{prefix}{name}" for prefix in ("", *BUILTIN_PREFIXES) for name in ("add_host", "group_by")
)


def check_selection(playbook: Playbook, inventory: Inventory, options: RunOptions) -> None:
    """Raise when ``--limit``/patterns leave no host, or ``--start-at-task`` names no task."""
    _check_hosts(playbook, inventory, options.limit)
    if options.start_at_task:
        _check_start_at_task(playbook, options.start_at_task)


def _check_hosts(playbook: Playbook, inventory: Inventory, limit: str | None) -> None:
    plays = playbook.plays
    if not plays or any(_dynamic(play) for play in plays):
        return
    if any(inventory.select(play.hosts, limit=limit) for play in plays):
        return
    patterns = ", ".join(dict.fromkeys(repr(_pattern(play.hosts)) for play in plays))
    if limit:
        raise UsageError(
            f"{NO_HOSTS}: --limit {limit!r} with host pattern {patterns}",
            hint="see which hosts a pattern selects with 'corral inventory --list --limit PATTERN'",
        )
    raise InventoryError(
        f"{NO_HOSTS}: no host of the inventory matches host pattern {patterns}",
        hint="give the inventory with -i, or see its hosts with 'corral inventory --graph'",
    )


def plays_without_hosts(
    playbook: Playbook, inventory: Inventory, limit: str | None
) -> frozenset[int]:
    """The positions of the plays whose pattern selects no host of the inventory as it is.

    Such a play runs no task, as in Ansible, unless ``add_host`` or ``group_by`` give
    it hosts while the run goes. A templated pattern is known only at run time.
    """
    return frozenset(
        index
        for index, play in enumerate(playbook.plays)
        if "{{" not in _pattern(play.hosts) and not inventory.select(play.hosts, limit=limit)
    )


def _pattern(hosts: str | Iterable[str]) -> str:
    return hosts if isinstance(hosts, str) else ",".join(hosts)


def _dynamic(play: Play) -> bool:
    """The play's hosts are known only at run time: a templated pattern or added hosts."""
    return "{{" in _pattern(play.hosts) or adds_hosts(play)


def adds_hosts(play: Play) -> bool:
    """Whether the play may add hosts or groups to the inventory (add_host, group_by)."""
    return any(task.action in _ADDS_HOSTS for task in _tasks(_sections(play)))


def added_host_variables(play: Play, options: Iterable[str]) -> set[str]:
    """The variables the play's ``add_host`` tasks give the hosts they add: their
    arguments other than the step's own ``options`` (its schema's properties)."""
    return {
        str(key)
        for task in _tasks(_sections(play))
        if task.action in _ADDS_HOSTS and isinstance(task.args, dict)
        for key in task.args
        if key not in options
    }


def start_matches(task: Task, wanted: str) -> bool:
    """Whether ``--start-at-task`` (a glob) names ``task``.

    A role's task matches as "role : name" and as "name", as in Ansible.
    """
    names = (task.name, task.name.partition(" : ")[2]) if task.role else (task.name,)
    return any(fnmatch.fnmatchcase(name, wanted) for name in names)


def _check_start_at_task(playbook: Playbook, wanted: str) -> None:
    nodes = [node for play in playbook.plays for node in _sections(play)]
    if any(_unknown_include(node) for node in nodes):
        return  # a dynamic include may hold the task; the run will find out
    if any(start_matches(task, wanted) for task in _tasks(nodes)):
        return
    raise UsageError(
        f"No matching task {wanted!r} found: --start-at-task matches no task of the playbook",
        hint="the name is matched (as a glob) against task names; see them with --list-tasks",
    )


def _sections(play: Play) -> tuple[TaskNode, ...]:
    return (*play.pre_tasks, *play.tasks, *play.post_tasks)


def _tasks(nodes: Iterable[TaskNode]) -> Iterator[Task]:
    for node in nodes:
        if isinstance(node, Task):
            yield node
        elif isinstance(node, Block):
            yield from _tasks((*node.block, *node.rescue, *node.always))
        elif isinstance(node, Include) and node.tasks is not None:
            yield from _tasks(node.tasks)


def _unknown_include(node: TaskNode) -> bool:
    if isinstance(node, Include):
        return node.tasks is None or any(_unknown_include(n) for n in node.tasks)
    if isinstance(node, Block):
        return any(_unknown_include(n) for n in (*node.block, *node.rescue, *node.always))
    return False

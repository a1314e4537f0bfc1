"""``--list-hosts``, ``--list-tasks`` and ``--list-tags``, printed as ansible-playbook prints them.

Nothing runs and no host is contacted: the lists come from the checked playbook and
inventory. ``--limit`` narrows the hosts, ``--tags``/``--skip-tags`` the tasks, as in
Ansible. Tasks behind a dynamic ``include_tasks`` whose file is a template are not known
before the run and are not listed (Ansible lists no dynamic include's tasks either).
Hosts are listed in inventory order (Ansible lists them in the order of a Python set).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from corral.engine.options import task_selected
from corral.playbook.model import Block, Include, Task, TaskNode

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun

__all__ = ["listing_text"]


def listing_text(
    prepared: PreparedRun,
    options: RunOptions,
    *,
    hosts: bool,
    tasks: bool,
    tags: bool,
    shown_path: str,
) -> str:
    """The text ``ansible-playbook --list-hosts/--list-tasks/--list-tags`` prints."""
    lines = ["", f"playbook: {shown_path}"]
    for number, play in enumerate(prepared.playbook.plays, start=1):
        pattern = play.hosts if isinstance(play.hosts, str) else ",".join(play.hosts)
        lines.append("")
        lines.append(f"  play #{number} ({pattern}): {play.name}\tTAGS: {_tags(play.tags)}")
        if hosts:
            selected = prepared.inventory.select(play.hosts, limit=options.limit)
            lines.append(f"    pattern: {[pattern]!r}")
            lines.append(f"    hosts ({len(selected)}):")
            lines.extend(f"      {name}" for name in selected)
        chosen = [
            task
            for task in _tasks((*play.pre_tasks, *play.tasks, *play.post_tasks))
            if _listed(task.tags | play.tags, options, every_tag=tags)
        ]
        if tasks:
            lines.append("    tasks:")
            lines.extend(f"      {t.name}\tTAGS: {_tags(t.tags | play.tags)}" for t in chosen)
        if tags:
            every: set[str] = set()
            for task in chosen:
                every |= task.tags | play.tags
            lines.append(f"      TASK TAGS: {_tags(every)}")
    return "\n".join(lines)


def _listed(tags: frozenset[str], options: RunOptions, *, every_tag: bool) -> bool:
    """Whether a task is listed: selected by the tags, as for a run.

    With ``--list-tags`` and no ``--tags``, Ansible lists ``never`` tasks too (so that
    their tags show); only ``--skip-tags`` leaves tasks out then.
    """
    if every_tag and not options.tags:
        skipped = options.skip_tags
        return not (
            tags & skipped or ("tagged" in skipped and tags) or ("untagged" in skipped and not tags)
        )
    return task_selected(tags, options.tags, options.skip_tags)


def _tags(tags: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(tags)) + "]"


def _tasks(nodes: Iterable[TaskNode]) -> Iterator[Task]:
    for node in nodes:
        if isinstance(node, Task):
            yield node
        elif isinstance(node, Block):
            yield from _tasks((*node.block, *node.rescue, *node.always))
        elif isinstance(node, Include) and node.tasks is not None:
            yield from _tasks(node.tasks)

"""Which handlers a ``notify:`` name reaches, in one place for the loader and the engine.

A handler answers to its ``name`` and to each of its ``listen`` topics, as in
Ansible. A notified name that reaches no handler is an error: names written
out are checked when the playbook is loaded (exit 4, before any host is
touched); templated names (``notify: "restart {{ svc }}"``) are checked when a
changed task renders them, and fail that task with Ansible's message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from corral.errors import PlaybookError, did_you_mean
from corral.playbook.model import Block, Include, Play, Task, TaskNode

__all__ = ["check_notify", "handler_topics", "missing_handler", "unknown_notified"]


def handler_topics(handler: Task) -> set[str]:
    """The names ``notify:`` can reach ``handler`` by: its name and its listen topics."""
    return {handler.name, *handler.listen}


def known_topics(handlers: Iterable[Task]) -> set[str]:
    """Every name that reaches one of ``handlers``."""
    return {topic for handler in handlers for topic in handler_topics(handler)}


def unknown_notified(names: Iterable[str], handlers: Sequence[Task]) -> list[str]:
    """The names among ``names`` that reach none of ``handlers``, in order."""
    known = known_topics(handlers)
    return [name for name in names if name not in known]


def missing_handler(name: str) -> str:
    """Ansible's message for a notified name that reaches no handler."""
    return (
        f"The requested handler {name!r} was not found in either the main handlers list "
        "nor in the listening handlers list"
    )


def _is_templated(text: str) -> bool:
    return "{{" in text or "{%" in text


def _tasks(nodes: Iterable[TaskNode]) -> Iterator[Task]:
    """Every task known at load time, with the tasks of their ``rollback`` lists."""
    for node in nodes:
        if isinstance(node, Task):
            yield node
            yield from _tasks(node.rollback)
        elif isinstance(node, Block):
            yield from _tasks((*node.block, *node.rescue, *node.always))
        elif isinstance(node, Include) and node.tasks is not None:
            yield from _tasks(node.tasks)


def check_notify(plays: Iterable[Play]) -> None:
    """Refuse a ``notify:`` name written out that reaches no handler of its play.

    A play whose handlers have templated names is left to the run-time check: what
    their names render to is not known yet.
    """
    for play in plays:
        if any(_is_templated(topic) for topic in known_topics(play.handlers)):
            continue
        known = known_topics(play.handlers)
        sections = (*play.pre_tasks, *play.tasks, *play.post_tasks, *play.handlers)
        for task in _tasks((*sections, *play.rollback)):
            for name in task.notify:
                if _is_templated(name) or name in known:
                    continue
                hint = did_you_mean(name, known) or (
                    "this play has no handlers"
                    if not known
                    else "a handler is notified by its name or one of its 'listen' topics"
                )
                raise PlaybookError(
                    f"task {task.name!r} notifies {name!r}, which is no handler of play "
                    f"{play.name!r}",
                    hint=hint,
                    location=task.location,
                )

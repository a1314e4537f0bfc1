"""The order of a play's work for one host, as a generator of units.

``host_units`` walks pre_tasks, tasks and post_tasks with their blocks,
rescues, always sections, includes and handler flushes, yielding one
:class:`Unit` at a time and receiving its :class:`UnitResult`. Each unit
carries a ``seq``: a tuple that orders units within the play the same way for
every host, so the linear strategy can keep hosts in step (the host whose next
unit has the smallest ``seq`` goes first) while each host follows its own path
through rescues and handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corral.engine.hosts import HostState
from corral.engine.results import UnitResult
from corral.playbook.handlers import handler_topics
from corral.playbook.model import Block, Include, Play, Task, TaskNode
from corral.playbook.templating.environment import Verbatim

Seq = tuple[int, ...]
Plan = Generator["Unit", UnitResult, bool]
# Resolves an include for a host: a list of (tasks, include vars), one per loop item.
IncludeResolver = Callable[
    [Include, HostState, Mapping[str, Any]], list[tuple[Sequence[TaskNode], dict[str, Any]]]
]


@dataclass(frozen=True)
class Unit:
    """One task to run on one host at a position of the play."""

    task: Task
    seq: Seq
    include_vars: Mapping[str, Any] = field(default_factory=dict)  # layer 5 of the variables
    handler: bool = False


@dataclass
class PlanSettings:
    """What the plan needs from the play runner."""

    selected: Callable[[Task], bool]  # tags and --start-at-task
    resolve_include: IncludeResolver
    is_flush: Callable[[Task], bool]
    on_rescue: Callable[[HostState], None]
    # True once the run stops (only always/handlers run then); waits first while it is paused.
    stopping: Callable[[], bool] = lambda: False
    # Told when the run stopping leaves the rest of a host's plan undone.
    on_stop: Callable[[HostState], None] = lambda state: None
    facts_task: Task | None = None


def host_units(play: Play, state: HostState, settings: PlanSettings) -> Plan:
    """All units of ``play`` for one host; returns whether the host finished without failing."""
    if settings.facts_task is not None:
        outcome = yield Unit(settings.facts_task, (-1,))
        if outcome.fatal:
            return False
    for index, section in enumerate((play.pre_tasks, play.tasks, play.post_tasks)):
        ok = yield from _nodes(play, state, settings, section, (index * 2,), {})
        # Handlers notified so far run at the end of each section, even after a failure elsewhere.
        if state.active:
            yield from _flush(play, state, settings, (index * 2 + 1,))
        if not ok or not state.active:
            return ok and not state.failed
    return not state.failed


def _nodes(
    play: Play,
    state: HostState,
    settings: PlanSettings,
    nodes: Sequence[TaskNode],
    seq: Seq,
    include_vars: Mapping[str, Any],
    in_always: bool = False,
) -> Generator[Unit, UnitResult, bool]:
    for index, node in enumerate(nodes):
        if not state.active:
            return not state.failed and not state.unreachable
        if settings.stopping() and not in_always:
            settings.on_stop(state)
            return False
        here = (*seq, index)
        if isinstance(node, Task):
            if settings.is_flush(node):
                yield from _flush(play, state, settings, here)
                continue
            if not settings.selected(node):
                continue
            outcome = yield Unit(node, here, include_vars)
            if outcome.fatal:
                return False
        elif isinstance(node, Block):
            if not (yield from _block(play, state, settings, node, here, include_vars, in_always)):
                return False
        elif not (yield from _include(play, state, settings, node, here, include_vars, in_always)):
            return False
    return True


def _include(
    play: Play,
    state: HostState,
    settings: PlanSettings,
    include: Include,
    seq: Seq,
    include_vars: Mapping[str, Any],
    in_always: bool,
) -> Generator[Unit, UnitResult, bool]:
    resolved = settings.resolve_include(include, state, include_vars)
    if state.failed:  # the include itself failed for this host (a cycle, a missing file)
        return False
    for item, (tasks, item_vars) in enumerate(resolved):
        item_include_vars = {**include_vars, **item_vars}
        if not (
            yield from _nodes(
                play, state, settings, tasks, (*seq, item), item_include_vars, in_always
            )
        ):
            return False
    return True


def _block(
    play: Play,
    state: HostState,
    settings: PlanSettings,
    block: Block,
    seq: Seq,
    include_vars: Mapping[str, Any],
    in_always: bool,
) -> Generator[Unit, UnitResult, bool]:
    ok = yield from _nodes(play, state, settings, block.block, (*seq, 0), include_vars, in_always)
    if not ok and block.rescue and state.failed and not state.unreachable:
        state.failed = False
        settings.on_rescue(state)
        rescue_vars = dict(include_vars)
        if state.last_failure is not None:
            failed_task, failed_result = state.last_failure
            rescue_vars["ansible_failed_task"] = {
                "name": failed_task.name,
                "action": failed_task.action,
                "uid": failed_task.uid,
            }
            rescue_vars["ansible_failed_result"] = Verbatim(failed_result)
        ok = yield from _nodes(
            play, state, settings, block.rescue, (*seq, 1), rescue_vars, in_always
        )
    if block.always and not state.unreachable and not state.ended:
        failed_before = state.failed
        state.failed = False  # always runs even on a failed host, and while the run stops
        always_ok = yield from _nodes(
            play, state, settings, block.always, (*seq, 2), include_vars, True
        )
        state.failed = state.failed or failed_before
        ok = ok and always_ok
    return ok


def _flush(
    play: Play, state: HostState, settings: PlanSettings, seq: Seq
) -> Generator[Unit, UnitResult, None]:
    """Run the notified handlers, in the order the play defines them, once each.

    A handler runs when notified by its name or by one of its ``listen``
    topics; a handler may notify a later one within the same flush.
    """
    consumed: set[str] = set()
    for index, handler in enumerate(play.handlers):
        if not state.active:
            break
        hits = handler_topics(handler) & state.notified
        if not hits:
            continue
        consumed |= hits
        here = (*seq, 10_000 + index)
        if isinstance(handler, Include):
            # An include_tasks handler runs the tasks of its file, in order.
            if not (yield from _include(play, state, settings, handler, here, {}, True)):
                break
            continue
        outcome = yield Unit(handler, here, handler=True)
        if outcome.fatal:
            break
    state.notified -= consumed


def rollback_units(
    play: Play, completed: Sequence[Task], state: HostState, settings: PlanSettings
) -> Plan:
    """Rollback work for one host: completed tasks' ``rollback``, newest first, then the play's."""
    for index, task in enumerate(reversed(completed)):
        # Rollback tasks run whatever happens, like an always section.
        yield from _nodes(play, state, settings, task.rollback, (90, index), {}, in_always=True)
        state.failed = False
    yield from _nodes(play, state, settings, play.rollback, (99,), {}, in_always=True)
    return not state.failed

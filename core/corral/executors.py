"""Executors: where a run's units run.

The engine decides what runs when: plays, ``serial`` batches, the linear strategy's
rounds, handlers, ``run_once``, ``any_errors_fatal``, rollback. An executor runs the
units of one round (one task on each of some hosts) and hands back each outcome as
it ends. ``local``, built in, runs them in this process: cooperative units on a hub
(see :mod:`corral.cooperative`), the others on a pool of ``forks`` threads. A plugin
registers others through ``corral_register_executors``; ``corral run --executor
NAME`` (or ``CORRAL_EXECUTOR``) picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from corral.engine.context import PlayContext, RunContext
    from corral.engine.hosts import HostState
    from corral.engine.results import UnitResult
    from corral.playbook.model import Task

__all__ = [
    "DEFAULT_EXECUTOR",
    "Executor",
    "ExecutorType",
    "UnitWork",
    "chosen_executor",
    "executor_type",
    "open_executor",
]

DEFAULT_EXECUTOR = "local"


@dataclass(frozen=True)
class UnitWork:
    """One unit to run: ``task`` on ``host`` at position ``seq`` of its play.

    ``here()`` runs it in this process, reporting and recording its outcome as the
    engine always does (``local`` calls nothing else). ``cooperative``: its step and
    the host's connection wait through corral.cooperative, so it may share a thread.
    ``play`` and ``state`` are the play's context and the host's state in it, for an
    executor that runs the unit elsewhere (corral.engine.shards).
    """

    host: str
    task: Task
    seq: tuple[int, ...]
    include_vars: Mapping[str, Any]
    handler: bool
    cooperative: bool
    here: Callable[[], UnitResult]
    play: PlayContext
    state: HostState


class Executor(Protocol):
    """A run's executor, opened when the run starts and closed when it ends."""

    def run_units(self, work: Sequence[UnitWork]) -> Iterator[tuple[str, UnitResult]]:
        """Run every unit of ``work`` (one per host); yield ``(host, outcome)`` as each ends.

        An exception raised here is a bug of the executor, not a host's failure: the
        run stops with it. Host failures are outcomes.
        """
        ...

    def close(self) -> None:
        """Wait for what still runs and release the executor's threads or connections."""
        ...


@dataclass(frozen=True)
class ExecutorType:
    """A kind of executor: ``open(run)`` builds the executor of one run."""

    name: str
    open: Callable[[RunContext], Executor]
    description: str = ""
    plugin: str = field(default="", compare=False)


def executor_type(executors: Mapping[str, ExecutorType], name: str) -> ExecutorType:
    """The executor type called ``name``; a usage error naming the installed ones if none is."""
    found = executors.get(name)
    if found is None:
        from corral.errors import UsageError

        installed = ", ".join(sorted(executors)) or "none"
        raise UsageError(
            f"no executor {name!r} is installed (installed: {installed})",
            hint="check --executor or CORRAL_EXECUTOR; `corral plugins` lists the executors",
        )
    return found


def chosen_executor(
    executors: Mapping[str, ExecutorType], given: str | None, environ: Mapping[str, str]
) -> str:
    """The executor a command runs with: ``--executor``, else ``CORRAL_EXECUTOR``, else local."""
    name = given or environ.get("CORRAL_EXECUTOR") or DEFAULT_EXECUTOR
    return executor_type(executors, name).name


def open_executor(run: RunContext) -> Executor:
    """Open the executor the run's options name."""
    return executor_type(run.registry.executors, run.options.executor).open(run)

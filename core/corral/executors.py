"""Executors: where a run's units run.

The engine decides what runs when: plays, ``serial`` batches, the linear strategy's
rounds, handlers, ``run_once``, ``any_errors_fatal``, rollback. An executor runs the
units of one round (one task on each of some hosts) and hands back each outcome as
it ends. ``local``, built in, runs them in this process: cooperative units on a hub
(see :mod:`corral.cooperative`), the others on a pool of ``forks`` threads. A plugin
registers others through ``corral_register_executors``; ``corral run --executor
NAME`` (or ``CORRAL_EXECUTOR``) picks one.

An executor type may also take **whole runs**: its ``run_queue`` opens a
:class:`RunQueue` that ``corral serve --executor NAME`` hands each queued run to
(:class:`QueuedRun`), to be run by a worker elsewhere; what the worker's run records
comes back to the server's store through :mod:`corral.store.mirror`.
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
    "QueuedRun",
    "RemoteRun",
    "RunQueue",
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
class QueuedRun:
    """A run ``corral serve`` queued, handed whole to an executor's workers.

    ``argv`` are the ``corral`` arguments that run it (``run PLAYBOOK --queued-run ID
    ...``); ``files`` the text of the hand-over files they name (``@PATH``), by path, for
    a worker to write where it likes. ``project`` is the project directory, which
    workers have at the same path. ``playbook`` (relative to it), ``inventory``,
    ``params`` and ``limit`` say what the run targets, for routing it and taking its
    leases, for which it waits up to ``wait_lock`` seconds. ``log``: the file on this
    machine where what the run printed on its error output is kept.
    """

    run_id: str
    playbook: str
    argv: tuple[str, ...]
    files: Mapping[str, str]
    project: str
    inventory: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    limit: str | None = None
    started_by: str = ""
    trigger: str = ""
    wait_lock: float = 0.0
    log: str = ""


class RemoteRun(Protocol):
    """A queued run handed to a worker, as the server watches it (like its own workers)."""

    run_id: str

    @property
    def where(self) -> str:
        """Where it runs, for the server's log (``queue eu``, ``pid 123``)."""
        ...

    def finished(self) -> int | None:
        """The run's exit code once it ended (or its worker was lost), else None."""
        ...

    def wait(self, timeout: float) -> int | None:
        """:meth:`finished`, waiting up to ``timeout`` seconds for it."""
        ...

    def terminate(self) -> None:
        """Wind the run down, as SIGTERM does to a local one."""
        ...

    def kill(self) -> None:
        """Stop it at once."""
        ...


class RunQueue(Protocol):
    """Where a server's queued runs go to be run by workers."""

    def submit(self, run: QueuedRun) -> RemoteRun:
        """Put ``run`` on the queue; its records reach this machine's run store."""
        ...

    def adopt(self, run_id: str, queue: str, task: str, log: str) -> RemoteRun:
        """Follow again a run a server before this one handed out, as ``task`` on ``queue``
        (corral.store.mirror.handed_out), its output going on in ``log``."""
        ...

    def close(self) -> None:
        """Stop watching the runs handed out (they go on; their records stop coming)."""
        ...


@dataclass(frozen=True)
class ExecutorType:
    """A kind of executor: ``open(run)`` builds the executor of one run.

    ``run_queue(environ)``, when given, opens the queue of whole runs that ``corral
    serve --executor NAME`` uses instead of running each queued run on its own machine.
    """

    name: str
    open: Callable[[RunContext], Executor]
    description: str = ""
    plugin: str = field(default="", compare=False)
    run_queue: Callable[[Mapping[str, str]], RunQueue] | None = field(default=None, compare=False)


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

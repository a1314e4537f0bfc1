"""The ``local`` executor: a run's units in this process.

Cooperative units (their step and their host's connection wait through
corral.cooperative) share one thread, the hub; the others each take a thread of a
pool. Both run at most ``forks`` units at once. Plays running side by side (a DAG)
share them: ``forks`` bounds the run, as in Ansible.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from corral import hookimpl
from corral.cooperative import Hub
from corral.executors import DEFAULT_EXECUTOR, Executor, ExecutorType, UnitWork
from corral.hookspecs import RegisterExecutor

if TYPE_CHECKING:
    from corral.engine.context import RunContext
    from corral.engine.results import UnitResult

__all__ = ["LocalExecutor", "corral_register_executors"]


class LocalExecutor:
    """Runs units on this machine; see the module docstring."""

    def __init__(
        self, forks: int, *, hub: bool = True, cancelled: threading.Event | None = None
    ) -> None:
        self.forks = max(1, forks)
        self.use_hub = hub
        # Set when the run is aborted: closing then does not wait for units still running
        # (their connections were closed to end them), as the play's pool never did.
        self.cancelled = cancelled or threading.Event()
        self._hub: Hub | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run_units(self, work: Sequence[UnitWork]) -> Iterator[tuple[str, UnitResult]]:
        if len(work) == 1:
            # One host (run_once, a free strategy's host, a batch of one): on this thread.
            yield work[0].host, work[0].here()
            return
        done: queue.SimpleQueue[tuple[str, UnitResult | None, BaseException | None]]
        done = queue.SimpleQueue()

        def call(unit: UnitWork) -> None:
            try:
                done.put((unit.host, unit.here(), None))
            except BaseException as exc:  # raised again below, in the caller's thread
                done.put((unit.host, None, exc))

        for unit in work:
            if unit.cooperative and self.use_hub:
                self._the_hub().spawn(call, unit)
            else:
                self._the_pool().submit(call, unit)
        for _ in work:
            host, outcome, exc = done.get()
            if exc is not None:
                raise exc
            assert outcome is not None
            yield host, outcome

    def close(self) -> None:
        hub, pool = self._hub, self._pool
        self._hub = self._pool = None
        wait = not self.cancelled.is_set()
        try:
            if hub is not None:
                hub.close(wait=wait)
        finally:
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)

    def _the_hub(self) -> Hub:
        with self._lock:
            if self._hub is None:
                self._hub = Hub(self.forks)
            return self._hub

    def _the_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.forks, thread_name_prefix="corral")
            return self._pool


def _open(run: RunContext) -> LocalExecutor:
    return LocalExecutor(run.options.forks, hub=run.options.hub, cancelled=run.cancelled)


def _open_processes(run: RunContext) -> Executor:
    from corral.engine.processes import ProcessExecutor, processes_wanted

    environ = run.templar.environ
    return ProcessExecutor(run, processes_wanted(environ), environ)


@hookimpl
def corral_register_executors(register: RegisterExecutor) -> None:
    """Register ``local`` (every run's, unless told otherwise) and ``processes``."""
    register(
        ExecutorType(
            name=DEFAULT_EXECUTOR,
            open=_open,
            description="In this process: cooperative units on one thread, others on threads.",
        )
    )
    register(
        ExecutorType(
            name="processes",
            open=_open_processes,
            description="Host work in worker processes on this machine (CORRAL_PROCESSES).",
        )
    )

"""The ``processes`` executor: a round's host work in worker processes on this machine.

One Python process runs the engine's Python on one core. ``--executor processes``
splits each round's target units into one shard per worker process
(corral.engine.shards); each worker runs its shard as the local executor would, and
this process keeps the run's state, writes the events and decides what comes next.
Controller steps, delegated and throttled tasks run here. ``CORRAL_PROCESSES`` sets
how many workers (default: the machine's CPUs); ``forks`` is shared among them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING

from corral.engine.local import LocalExecutor
from corral.engine.shards import apply_shard, needs_all_hosts, pack_shard, shards_of, split_remote
from corral.errors import UsageError
from corral.executors import UnitWork

if TYPE_CHECKING:
    from corral.engine.context import RunContext
    from corral.engine.results import UnitResult
    from corral.plugins import Registry

__all__ = ["ProcessExecutor", "processes_wanted"]

# A worker process's registry, built once when it starts (its own plugins, as installed).
_REGISTRY: Registry | None = None
_ENVIRON: dict[str, str] = {}


def processes_wanted(environ: Mapping[str, str]) -> int:
    """``CORRAL_PROCESSES``, else the CPUs this process may use."""
    value = environ.get("CORRAL_PROCESSES", "").strip()
    if not value:
        return max(1, len(os.sched_getaffinity(0)))
    if not value.isdigit() or int(value) < 1:
        raise UsageError(
            f"CORRAL_PROCESSES must be a whole number of processes, not {value!r}",
            hint="for example CORRAL_PROCESSES=4",
        )
    return int(value)


def _start_worker(environ: dict[str, str]) -> None:
    global _REGISTRY, _ENVIRON  # noqa: PLW0603 - one registry per worker process
    from corral.plugins import build_registry, make_plugin_manager

    _ENVIRON = environ
    _REGISTRY = build_registry(make_plugin_manager(environ))


def _run_shard(data: bytes) -> bytes:
    from corral.engine.shards import run_shard

    assert _REGISTRY is not None
    return run_shard(data, _REGISTRY, _ENVIRON)


class ProcessExecutor:
    """Runs target units in ``processes`` worker processes; see the module docstring."""

    def __init__(self, run: RunContext, processes: int, environ: Mapping[str, str]) -> None:
        self.run = run
        self.processes = processes
        self.environ = dict(environ)
        self.local = LocalExecutor(run.options.forks, hub=run.options.hub, cancelled=run.cancelled)
        self.all_hosts = needs_all_hosts(run.playbook, run.inventory)
        self._pool: ProcessPoolExecutor | None = None

    def run_units(self, work: Sequence[UnitWork]) -> Iterator[tuple[str, UnitResult]]:
        remote, here = split_remote(self.run, work)
        if len(remote) < 2:  # one host's unit is not worth a round trip to a worker
            yield from self.local.run_units(work)
            return
        size = math.ceil(len(remote) / self.processes)
        forks = math.ceil(self.run.options.forks / self.processes)
        pool = self._the_pool()
        sent: dict[Future[bytes], list[UnitWork]] = {
            pool.submit(_run_shard, pack_shard(shard, all_hosts=self.all_hosts, forks=forks)): shard
            for shard in shards_of(remote, size)
        }
        if here:
            yield from self.local.run_units(here)
        for future in as_completed(sent):
            shard = sent[future]
            yield from apply_shard(shard[0].play, shard, future.result()).items()

    def close(self) -> None:
        try:
            self.local.close()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _the_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                # forkserver: a clean process, not a copy of this one's threads and locks
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start_worker,
                initargs=(self.environ,),
            )
        return self._pool

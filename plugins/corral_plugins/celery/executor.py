"""The ``celery`` executor: a run's host work in shards, on corral workers behind a broker.

``corral run --executor celery`` (or ``CORRAL_EXECUTOR=celery``) keeps the run here: the
plays, batches, the linear strategy's rounds, handlers, rollback, the run store and the
output. Each round's target units are cut into shards of ``CORRAL_SHARD_SIZE`` hosts
(default 250), sealed (corral_plugins.celery.crypto) and put on the broker, on the queue
of their hosts (a host's ``corral_queue`` variable, else ``CORRAL_QUEUE``, else the
first of the project's queues); any ``corral worker`` serving that queue runs one and
sends back what its units did, which is applied here as if they had run here
(corral.engine.shards). Controller steps,
delegated and throttled tasks run here. Workers need the project at the same path.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from corral.engine.local import LocalExecutor
from corral.engine.shards import apply_shard, needs_all_hosts, pack_shard, shards_of, split_remote
from corral.errors import CorralError, HostUnreachable, UsageError
from corral.executors import UnitWork
from corral_plugins.celery.app import SHARD, make_app
from corral_plugins.celery.crypto import seal_bytes, unseal_bytes
from corral_plugins.celery.outage import broker_errors, broker_wait, patiently
from corral_plugins.celery.settings import BrokerSettings, load_settings, redacted_url
from corral_plugins.celery.workers import check_broker

if TYPE_CHECKING:
    from corral.engine.context import RunContext
    from corral.engine.results import UnitResult

__all__ = ["CeleryExecutor", "open_executor"]

T = TypeVar("T")

DEFAULT_SHARD_SIZE = 250
# How often the coordinator looks for finished shards (a result backend round trip each).
POLL = 0.02
# Seconds without any worker taking a round's shards before the run says so
# (CORRAL_NO_WORKER_WARNING).
NOBODY_WARNING = 30.0


class WorkerFailed(CorralError):
    """A worker could not run a shard (its error, or the broker's)."""


class BrokerAway(HostUnreachable):
    """The broker went away during the run and did not come back in time (exit 3)."""


def shard_size(environ: Mapping[str, str]) -> int:
    """``CORRAL_SHARD_SIZE``: hosts per shard."""
    value = environ.get("CORRAL_SHARD_SIZE", "").strip()
    if not value:
        return DEFAULT_SHARD_SIZE
    if not value.isdigit() or int(value) < 1:
        raise UsageError(
            f"CORRAL_SHARD_SIZE must be a whole number of hosts, not {value!r}",
            hint="for example CORRAL_SHARD_SIZE=250 (docs/scale-out.md: sizing shards)",
        )
    return int(value)


class CeleryExecutor:
    """Sends target units to workers, runs the rest here; see the module docstring."""

    def __init__(self, run: RunContext, settings: BrokerSettings, size: int, queue: str) -> None:
        assert settings.key is not None
        self.run = run
        self.settings = settings
        self.key = settings.key
        self.queue = queue
        self.size = size
        self.app = make_app(settings)
        self.local = LocalExecutor(run.options.forks, hub=run.options.hub, cancelled=run.cancelled)
        self.all_hosts = needs_all_hosts(run.playbook, run.inventory)
        self.nobody_warning = float(
            run.templar.environ.get("CORRAL_NO_WORKER_WARNING") or NOBODY_WARNING
        )
        self.broker_wait = broker_wait(run.templar.environ)
        self.outage_warned = False

    def run_units(self, work: Sequence[UnitWork]) -> Iterator[tuple[str, UnitResult]]:
        remote, here = split_remote(self.run, work)
        if not remote:
            yield from self.local.run_units(work)
            return
        forks = self.run.options.forks
        pending: list[tuple[Any, list[UnitWork], str]] = []
        for queue, units in self._by_queue(remote).items():
            for shard in shards_of(units, self.size):
                packed = pack_shard(shard, all_hosts=self.all_hosts, forks=forks)
                sealed = seal_bytes(packed, self.key)
                result = self._patiently(
                    partial(self.app.send_task, SHARD, args=[sealed], queue=queue)
                )
                pending.append((result, shard, queue))
        if here:
            yield from self.local.run_units(here)
        try:
            yield from self._collect(pending)
        except BaseException:
            # Aborted (a second Ctrl-C, corral cancel --now): live workers drop what is
            # still queued or running for this run (a broker that is down: nothing to do).
            with contextlib.suppress(Exception):
                self.app.control.revoke([result.id for result, _, _ in pending])
            raise

    def _collect(
        self, pending: list[tuple[Any, list[UnitWork], str]]
    ) -> Iterator[tuple[str, UnitResult]]:
        """Apply each shard's answer as it comes; ``pending`` keeps those still out."""
        sent = time.monotonic()
        warned = False
        while pending:
            waiting = []
            for result, shard, queue in pending:
                if not self._patiently(result.ready):
                    waiting.append((result, shard, queue))
                    continue
                yield from apply_shard(shard[0].play, shard, self._answer(result)).items()
            pending[:] = waiting
            if not pending:
                break
            if self.run.cancelled.is_set():
                raise WorkerFailed(
                    f"the run was cancelled with {len(pending)} shards still on workers",
                    hint="they were revoked; what they did is not in this run's results",
                )
            if not warned and time.monotonic() - sent > self.nobody_warning:
                warned = self._warn_if_nobody(pending)
            time.sleep(POLL)

    def _by_queue(self, work: list[UnitWork]) -> dict[str, list[UnitWork]]:
        """The units by their queue: ``corral_queue`` from ``-e``, the play's vars or the
        host's inventory variables (in that order, as variables take precedence), else
        the run's."""
        found: dict[str, list[UnitWork]] = {}
        extra = self.run.variables.extra_vars
        for unit in work:
            layers = (extra, unit.play.play_vars, unit.state.inventory_vars)
            named = [v for layer in layers if isinstance(v := layer.get("corral_queue"), str)]
            found.setdefault(named[0] if named else self.queue, []).append(unit)
        return found

    def _warn_if_nobody(self, pending: list[tuple[Any, list[UnitWork], str]]) -> bool:
        """Warn once when no worker has taken any of the shards still waiting."""
        if any(self._patiently(partial(getattr, r, "state")) != "PENDING" for r, _, _ in pending):
            return False
        queues = ", ".join(sorted({queue for _, _, queue in pending}))
        self.run.bus.warn(
            f"no worker has taken the {len(pending)} shards of task "
            f"{pending[0][1][0].task.name!r} for {self.nobody_warning:g} s (queues: {queues}): "
            "`corral workers` lists who serves what"
        )
        return True

    def _answer(self, result: Any) -> bytes:
        try:
            sealed = self._patiently(partial(result.get, propagate=True, timeout=60))
        except CorralError:
            raise
        except Exception as exc:
            raise WorkerFailed(
                f"a worker failed on a shard: {type(exc).__name__}: {exc}",
                hint="see that worker's log (corral worker --loglevel info)",
            ) from exc
        return unseal_bytes(sealed, self.key)

    def _patiently(self, call: Callable[[], T]) -> T:
        """``call()`` to the broker, waiting out a broker restart (corral_plugins.celery.outage)."""
        try:
            return patiently(call, self.broker_wait, self._outage)
        except broker_errors() as exc:
            raise BrokerAway(
                f"broker {redacted_url(self.settings.broker_url)} did not come back within "
                f"{self.broker_wait:g} s: {' '.join(str(exc).split()) or type(exc).__name__}",
                hint="start the broker and `corral resume` the run (CORRAL_BROKER_WAIT: "
                "how long a run waits for it)",
            ) from None

    def _outage(self, exc: BaseException) -> None:
        if not self.outage_warned:
            self.outage_warned = True
            self.run.bus.warn(
                f"broker {redacted_url(self.settings.broker_url)} is not reachable "
                f"({type(exc).__name__}): waiting up to {self.broker_wait:g} s for it to come back"
            )

    def close(self) -> None:
        try:
            self.local.close()
        finally:
            self.app.close()


def open_executor(run: RunContext) -> CeleryExecutor:
    """The run's celery executor, with the broker settings of its project."""
    environ = run.templar.environ
    settings = load_settings(environ, cwd=Path.cwd())
    queue = environ.get("CORRAL_QUEUE") or settings.queues[0]
    executor = CeleryExecutor(run, settings, shard_size(environ), queue)
    # A broker that is down when the run starts stops it at once; one that goes away
    # later is waited for (CORRAL_BROKER_WAIT).
    try:
        check_broker(executor.app, settings, settings.connect_timeout)
    except BaseException:
        executor.close()
        raise
    return executor

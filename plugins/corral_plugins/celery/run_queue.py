"""``corral serve --executor celery``: the server's queued runs, run whole by workers.

Each queued run goes on the broker as a ``corral.run`` task, on its queue: the
``corral_queue`` of the playbook's plays (``vars:``), else the one every host the run
targets has in the inventory (a datacentre's group), else ``CORRAL_QUEUE``, else the
first of the project's queues. A worker serving that queue runs it
(corral_plugins.celery.remote_run) and sends up what it records; a thread per run here
writes that into the server's store (corral.store.mirror), so the run is in
``history``, ``show``, the API and the web UI as any other, and sends down what is
asked of it there (``corral cancel``/``pause``/``continue``, ``corral approve``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import CorralError
from corral.executors import QueuedRun
from corral_plugins.celery.app import RESULT_EXPIRES, RUN, make_app
from corral_plugins.celery.channel import RunChannel
from corral_plugins.celery.crypto import seal
from corral_plugins.celery.executor import BrokerAway
from corral_plugins.celery.outage import broker_errors, broker_wait, patiently
from corral_plugins.celery.settings import load_settings

if TYPE_CHECKING:
    from corral.plugins import Registry
    from corral.store.db import Store
    from corral.store.mirror import RunMirror

__all__ = ["CeleryRemoteRun", "CeleryRunQueue", "open_run_queue", "run_plan"]

# Seconds without a word from a run's worker (it sends a heartbeat every 2 s) before
# the run is recorded interrupted: its worker died, or lost its broker for that long
# (CORRAL_WORKER_LOST_AFTER).
LOST_AFTER = 30.0
WAIT = 0.5  # seconds each look for messages waits
BEAT_EVERY = 2.0  # seconds between two sendings of the (unchanged) state down


class CeleryRunQueue:
    """Hands queued runs to workers through the broker; see the module docstring."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = dict(environ)
        settings = load_settings(environ, cwd=Path.cwd())
        assert settings.key is not None
        self.key = settings.key
        self.queue = environ.get("CORRAL_QUEUE") or settings.queues[0]
        self.app = make_app(settings)
        self.lost_after = float(environ.get("CORRAL_WORKER_LOST_AFTER") or LOST_AFTER)
        self.broker_wait = broker_wait(environ)
        self._registry: Registry | None = None

    def submit(self, run: QueuedRun) -> CeleryRemoteRun:
        queue, leases = run_plan(run, self._plugins(), self.environ)
        return CeleryRemoteRun(self, run, queue or self.queue, leases)

    def adopt(self, run_id: str, queue: str, task: str, log: str) -> CeleryRemoteRun:
        """Follow again a run a server before this one handed out (as ``task``)."""
        run = QueuedRun(run_id=run_id, playbook="", argv=(), files={}, project="", log=log)
        return CeleryRemoteRun(self, run, queue, [], adopted=task)

    def send(self, run: QueuedRun, queue: str) -> tuple[RunChannel, Any]:
        """Put ``run`` on ``queue``; its channel and its task's result."""
        payload = {
            "run_id": run.run_id,
            "playbook": run.playbook,
            "argv": list(run.argv),
            "files": dict(run.files),
            "project": run.project,
            "started_by": run.started_by,
            "trigger": run.trigger,
        }
        channel = RunChannel(self.app.backend.client, self.key, run.run_id, expires=RESULT_EXPIRES)
        channel.forget()  # a run id is new; a resumed one starts its exchange afresh
        result = self.app.send_task(RUN, args=[seal(payload, self.key)], queue=queue)
        return channel, result

    def close(self) -> None:
        self.app.close()

    def _plugins(self) -> Registry:
        if self._registry is None:
            from corral.plugins import build_registry, make_plugin_manager

            self._registry = build_registry(make_plugin_manager(self.environ))
        return self._registry


def open_run_queue(environ: Mapping[str, str]) -> CeleryRunQueue:
    return CeleryRunQueue(environ)


def run_plan(
    run: QueuedRun, registry: Registry, environ: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    """The queue ``run`` belongs on (None: the default), and the leases it takes.

    The playbook is loaded as ``corral run`` would load it. The leases (its hosts and
    ``locks:``, corral.store.leases) are taken here, in the server's store, before a
    worker gets the run: the worker's own store knows no other run. A playbook that
    does not load goes to the default queue, where its worker reports why.
    """
    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.store.leases import lease_names

    options = RunOptions(limit=run.limit)
    try:
        prepared = prepare_run(
            Path(run.project) / run.playbook,
            run.inventory,
            registry,
            options,
            environ,
            params=run.params,
        )
    except CorralError:
        return None, []
    inventory = prepared.inventory
    names: list[str] = []
    with contextlib.suppress(CorralError):
        names = lease_names(prepared.playbook, inventory, options)
    for play in prepared.playbook.plays:
        if isinstance(named := play.vars.get("corral_queue"), str):
            return named, names
    hosts = [name[len("host:") :] for name in names if name.startswith("host:")]
    queues = {inventory.host_vars(host).get("corral_queue") for host in hosts}
    if len(queues) == 1 and isinstance(named := queues.pop(), str):
        return named, names
    return None, names


class CeleryRemoteRun:
    """A run on a worker, as the server's dispatcher sees it (corral.executors.RemoteRun)."""

    def __init__(
        self,
        owner: CeleryRunQueue,
        run: QueuedRun,
        queue: str,
        leases: list[str],
        *,
        adopted: str = "",
    ) -> None:
        self.run_id = run.run_id
        self.queue = queue
        self.started = time.time()
        self._owner = owner
        self._run = run
        self._leases = leases
        self._log = Path(run.log) if run.log else None
        self._channel: RunChannel | None = None
        self._result: Any = owner.app.AsyncResult(adopted) if adopted else None
        self._away = False  # the broker could not be reached the last time
        self._code: int | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name=f"corral-remote-{run.run_id}", daemon=True
        )
        self._thread.start()

    @property
    def where(self) -> str:
        return f"queue {self.queue}"

    def finished(self) -> int | None:
        return self._code if self._done.is_set() else None

    def wait(self, timeout: float) -> int | None:
        self._done.wait(timeout)
        return self.finished()

    def terminate(self) -> None:
        """Cancel the run as ``corral cancel`` does (its grace, then it winds down)."""
        self._ask(now=False)

    def kill(self) -> None:
        """Abort it at once, as ``corral cancel --now``."""
        self._ask(now=True)
        self._revoke()

    def _revoke(self) -> None:
        if self._result is not None:
            with contextlib.suppress(Exception):  # a broker that is down: nothing to take back
                self._owner.app.control.revoke([self._result.id])

    def _ask(self, *, now: bool) -> None:
        from corral.store.control import NOW, request_cancel
        from corral.store.db import open_store

        if self._done.is_set():
            return
        store = open_store(self._owner.environ)
        try:
            with contextlib.suppress(CorralError):  # it ended meanwhile
                request_cancel(store, self.run_id, by="corral serve", grace=NOW if now else None)
        finally:
            store.close()

    # -- the watching thread ------------------------------------------------------------

    def _watch(self) -> None:
        from corral.store.db import open_store
        from corral.store.leases import LeaseHeld, release_leases
        from corral.store.mirror import RunMirror, forget_handed_out

        store = open_store(self._owner.environ)
        mirror = RunMirror(store, self.run_id)
        try:
            channel = self._adopt(mirror) if self._result is not None else self._send(store)
            self._code = self._follow(mirror, channel)
        except LeaseHeld as exc:
            mirror.output = f"error: {exc}\n"
            self._code = exc.exit_code
        except BrokerAway as exc:  # not sent, still queued: the dispatcher records it failed
            mirror.output = f"error: {exc}\n"
            self._code = exc.exit_code
        except Exception as exc:  # the broker or the store failed for good: say so, end
            mirror.lost(f"\ncorral serve lost run {self.run_id}: {type(exc).__name__}: {exc}\n")
            self._code = 1
        finally:
            mirror.close()
            with contextlib.suppress(Exception):
                release_leases(store, self.run_id)
                forget_handed_out(store, self.run_id)
            store.close()
            self._keep_output(mirror.output)
            self._done.set()

    def _send(self, store: Store) -> RunChannel:
        """Take the run's leases (waiting as a local run would), then put it on the queue."""
        from corral.store.leases import acquire_leases
        from corral.store.mirror import note_handed_out

        acquire_leases(
            store,
            self.run_id,
            self._leases,
            pid=os.getpid(),
            wait=self._run.wait_lock,
            on_wait=lambda holder: self._keep_output(
                f"waiting for {holder.name}, held by run {holder.run_id}\n"
            ),
        )

        def told(exc: BaseException) -> None:
            self._keep_output(f"the broker cannot be reached ({exc}): waiting for it\n")

        try:
            channel, self._result = patiently(
                lambda: self._owner.send(self._run, self.queue), self._owner.broker_wait, told
            )
        except broker_errors() as exc:
            raise BrokerAway(
                f"the broker was not reachable for {self._owner.broker_wait:g} s: {exc}",
                hint="start the broker (corral workers checks it), then run the playbook again",
            ) from exc
        note_handed_out(store, self.run_id, "celery", self.queue, str(self._result.id))
        return channel

    def _adopt(self, mirror: RunMirror) -> RunChannel:
        """Apply what the last server took up and had not applied, then go on from there."""
        channel = RunChannel(
            self._owner.app.backend.client, self._owner.key, self.run_id, expires=RESULT_EXPIRES
        )
        for message in channel.taken():
            mirror.apply(message)
            channel.ack()
        self._keep_output(mirror.output)
        mirror.output = ""
        return channel

    def _follow(self, mirror: RunMirror, channel: RunChannel) -> int:
        """Apply what comes up and send down what changes, until the run's end."""
        sent: Any = None
        beat = 0.0
        # When the worker last said something (a run it took: from now on).
        heard = time.monotonic() if mirror.status() == "running" else None
        while True:
            if mirror.code is not None:  # it ended while no server was following it
                return mirror.code
            down = mirror.down()
            if down != sent or time.monotonic() - beat > BEAT_EVERY:
                # Sent again every few seconds though unchanged: the worker's run stops
                # when no server has been heard of for a while (nobody would record it).
                with contextlib.suppress(*broker_errors()):
                    channel.send_down({**down, "beat": time.time()})
                    sent, beat = down, time.monotonic()
            if heard is None and mirror.status() == "cancelled":
                # Cancelled before any worker took it: take it off the queue.
                self._revoke()
                return 99
            message = self._take(channel)
            now = time.monotonic()
            if message is not None:
                heard = now
                mirror.apply(message)
                channel.ack()
                self._keep_output(mirror.output)  # as it comes: the API and UI show it
                mirror.output = ""
            elif heard is not None and now - heard > self._patience():
                mirror.lost(
                    f"\nthe worker running this run (queue {self.queue}) has not been heard "
                    f"of for {self._patience():g} s: recorded interrupted; "
                    f"`corral resume {self.run_id}` runs it again from where it stopped\n"
                )
                return 1

    def _patience(self) -> float:
        """How long a silent worker is waited for: longer while the broker is away."""
        return self._owner.broker_wait if self._away else self._owner.lost_after

    def _take(self, channel: RunChannel) -> Any:
        try:
            message = channel.take(WAIT)
        except broker_errors():  # away for a moment? the worker waits for it too
            self._away = True
            time.sleep(WAIT)
            return None
        self._away = False
        return message

    def _keep_output(self, text: str) -> None:
        if self._log is not None and text:
            with contextlib.suppress(OSError), self._log.open("a", encoding="utf-8") as log:
                log.write(text)

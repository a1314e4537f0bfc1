"""The server's engine room: armed triggers, the queue, and the workers that run it.

:class:`Server` holds what ``corral serve`` runs, apart from HTTP (``app.py``):

- every ``triggers:`` entry of the project's playbooks, armed: a thread running the
  trigger's ``watch`` (cron, file, run), or a receiver answering at its path (webhook);
- :meth:`Server.fire`: a fire written to the store (``queue.py``) before anything runs,
  after the entry's ``overlap`` policy is applied;
- the dispatcher thread: starts queued runs, oldest first, up to ``max_runs`` at once,
  each in a worker process (``workers.py``; by default a long-lived warm worker that
  keeps SSH links between runs, ``warm.py``), or with an executor that takes whole
  runs (``serve --executor celery``) on its queue, to be run by a worker elsewhere and
  recorded here (corral.store.mirror); and notices runs that ended.

On start, runs whose worker died with the last server are marked ``interrupted`` (they
can be resumed) and runs still queued start. :meth:`Server.shutdown` drains: triggers
stop, no queued run starts, running ones get ``drain`` seconds to finish, then are
stopped as by Ctrl-C (and can be resumed); queued runs wait for the next start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral_plugins.server.metrics import Counters, ThrottledLog
from corral_plugins.server.project import (
    Entry,
    Project,
    Served,
    load_served,
    project_inventory,
    project_stamp,
)
from corral_plugins.server.queue import Fire, Queued, active_runs, enqueue, fail_unstarted
from corral_plugins.server.remote import open_run_queue
from corral_plugins.server.warm import WarmRun, WarmWorkers
from corral_plugins.server.workers import Worker, queued_run, queued_run_args, spawn

if TYPE_CHECKING:
    from corral import Receiver, TriggerContext
    from corral.executors import RemoteRun
    from corral.store.db import Store

    Running = Worker | WarmRun | RemoteRun

__all__ = ["Hook", "Server", "ServerOptions"]

# What happens when a trigger fires while its previous run is still queued or running.
DEFAULT_OVERLAP = {"cron": "skip"}  # other kinds: allow (each event is its own run)
_not_queued = {"skipped": "skipped (still running)", "disabled": "skipped (switched off)"}


@dataclass(frozen=True)
class ServerOptions:
    max_runs: int = 4
    drain: float = 60.0  # seconds running runs may take to finish on shutdown
    poll: float = 0.5  # how often the dispatcher looks at the queue when not woken
    reload: float = 2.0  # how often playbooks are checked for changes (0: never)
    wait_lock: float = 3600.0  # how long a run waits for a host another run holds
    hold: bool = False  # queue what fires, start nothing (maintenance)
    executor: str = ""  # an executor whose run_queue takes whole runs (celery), or local
    warm: bool = True  # runs go to long-lived workers that keep SSH links (warm.py)
    warm_idle: float = 300.0  # seconds a warm worker keeps an idle SSH link
    mcp_playbooks: str = "*"  # which playbooks /mcp's run tool may start (a glob)


@dataclass
class Hook:
    """A webhook entry, armed: its receiver keeps its rate limit between deliveries."""

    entry: Entry
    receive: Receiver


@dataclass
class _Armed:
    entry: Entry
    stopping: threading.Event
    thread: threading.Thread | None = None


class Server:
    """A served project: its triggers armed, its queue worked (see the module's docstring)."""

    def __init__(
        self,
        root: Path,
        registry: Any,
        environ: Mapping[str, str],
        options: ServerOptions,
        log: Callable[[str], None] = print,
    ) -> None:
        from corral.paths import corral_home

        self.root = root.resolve()
        self.registry = registry
        self.environ = dict(environ)
        self.home = corral_home(environ)
        self.options = options
        self.log = log
        self.project = Project(self.root)
        self.hooks: dict[str, Hook] = {}
        self.counters = Counters()
        self._fire_log = ThrottledLog(log)  # a webhook flood must not flood the log
        self._armed: dict[tuple[str, str], _Armed] = {}
        self._workers: dict[str, Running] = {}
        self._queue = open_run_queue(registry, options.executor, self.environ)
        self._warm = (
            WarmWorkers(self.root, self.home, self.environ, options.warm_idle, self.wake)
            if options.warm and self._queue is None
            else None
        )
        self._local = threading.local()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._draining = threading.Event()
        self._lock = threading.RLock()
        # The server's own writes take turns here rather than in SQLite's busy handler,
        # which sleeps (up to 100 ms a try) instead of waking when the lock is free.
        self._writing = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- the store, one connection per thread ------------------------------------------

    def store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            from corral.store.db import open_store

            store = self._local.store = open_store(self.environ)
        return store

    # -- life -----------------------------------------------------------------------

    def start(self) -> None:
        """Load the project, arm its triggers, and start the dispatcher."""
        self._adopt()
        dead = self.store().refresh_liveness()
        if dead:
            self.log(f"runs interrupted while the server was down: {', '.join(dead)}")
        self.reload()
        self._spawn("corral-dispatch", self._dispatch_loop)
        if self.options.reload > 0:
            self._spawn("corral-reload", self._reload_loop)

    def shutdown(self) -> None:
        """Drain: stop triggers, start nothing new, let running runs finish, then stop them."""
        self._draining.set()
        for armed in list(self._armed.values()):
            armed.stopping.set()
        self.hooks.clear()
        deadline = time.monotonic() + self.options.drain
        while self.running() and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.1)
        if self._warm is not None:
            self._warm.stop()  # each warm worker exits once its run has ended
        with self._lock:
            workers = list(self._workers.values())
        if workers:
            self.log(f"stopping {len(workers)} run(s) still running after the drain")
            for worker in workers:
                worker.terminate()
            for worker in workers:
                if worker.wait(timeout=30) is None:
                    worker.kill()
        self._reap()
        if self._warm is not None:
            self._warm.kill()  # any that did not end on their own
        if self._queue is not None:
            self._queue.close()
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def inventory_shown(self) -> str:
        """Where the runs' inventory comes from, for the start-up log."""
        found = project_inventory(self.root, self.environ)
        if found:
            return ", ".join(found)
        return "what ansible.cfg or $CORRAL_INVENTORY names, else corral's default"

    @property
    def remote(self) -> bool:
        """Whether runs go to an executor's workers elsewhere rather than run here."""
        return self._queue is not None

    def running(self) -> list[str]:
        with self._lock:
            return list(self._workers)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- playbooks and triggers ---------------------------------------------------------

    def reload(self) -> list[str]:
        """Load the project again and re-arm what changed; returns what was reported.

        A playbook that no longer loads keeps its previous version and triggers (the
        error is logged and listed by the API) until it is fixed.
        """
        fresh = load_served(self.root, self.registry, self.environ)
        reported = []
        with self._lock:
            previous = self.project
            for name, error in fresh.errors.items():
                if previous.errors.get(name) != error:
                    kept = (
                        "keeping its previous version" if name in previous.served else "not served"
                    )
                    reported.append(f"{name}: {error} ({kept})")
                if name in previous.served:
                    fresh.served[name] = previous.served[name]
            self.project = fresh
            self._rearm()
        for line in reported:
            self.log(line)
        return reported

    def _rearm(self) -> None:
        wanted = {(e.playbook, e.key): e for s in self.project.served.values() for e in s.entries}
        for key in set(self._armed) - set(wanted):
            self._disarm(key)
        hooks: dict[str, Hook] = {}
        for key, entry in wanted.items():
            trigger = self.registry.triggers[entry.kind]
            if trigger.receiver is not None and trigger.path is not None:
                path = trigger.path(entry.args)
                old = self.hooks.get(path)
                if old is not None and (old.entry.playbook, old.entry.key) == key:
                    hooks[path] = old
                    continue
                try:
                    hooks[path] = Hook(entry, trigger.receiver(entry.args))
                except ValueError as exc:  # e.g. its secret's variable is not set
                    error = f"{entry.kind} trigger not armed: {exc}"
                    self.project.errors[entry.playbook] = error
                    self.log(f"{entry.playbook}: {error}")
                    continue
                self._armed.setdefault(key, _Armed(entry, threading.Event()))
            elif key not in self._armed:
                self._arm_watch(entry)
        self.hooks = hooks

    def _arm_watch(self, entry: Entry) -> None:
        from corral import TriggerContext
        from corral.store.queries import last_fire

        armed = _Armed(entry, threading.Event())
        last = last_fire(self.store(), entry.playbook, entry.key)
        ctx = TriggerContext(
            playbook=entry.playbook,
            fire=lambda payload: self._fired(entry, payload),
            stopping=armed.stopping,
            log=lambda text: self.log(f"{entry.playbook} {entry.kind}: {text}"),
            environ=self.environ,
            last_fire=None if last is None else datetime.fromtimestamp(last, UTC),
        )
        armed.thread = threading.Thread(
            target=self._watch, args=(entry, ctx), name=f"trigger-{entry.key}", daemon=True
        )
        self._armed[(entry.playbook, entry.key)] = armed
        armed.thread.start()

    def _watch(self, entry: Entry, ctx: TriggerContext) -> None:
        """A trigger's watch, kept from taking the server down with it."""
        try:
            self.registry.triggers[entry.kind].watch(ctx, entry.args)
        except Exception as exc:
            self.log(f"{entry.playbook}: trigger {entry.kind} stopped: {exc}")

    def _disarm(self, key: tuple[str, str]) -> None:
        armed = self._armed.pop(key, None)
        if armed is not None:
            armed.stopping.set()

    def entries(self) -> list[Entry]:
        with self._lock:
            return [e for s in self.project.served.values() for e in s.entries]

    def served(self, name: str) -> Served | None:
        with self._lock:
            return self.project.served.get(name)

    def _reload_loop(self) -> None:
        seen = project_stamp(self.root, self.project)
        while not self._stopping.wait(self.options.reload):
            stamp = project_stamp(self.root, self.project)
            if stamp != seen:
                seen = stamp
                self.reload()

    # -- fires and the queue --------------------------------------------------------------

    def _fired(self, entry: Entry, payload: Mapping[str, Any]) -> None:
        """A watching trigger fired: its payload's keys the playbook declares become params."""
        served = self.served(entry.playbook)
        declared = served.params if served is not None else {}
        params = {k: v for k, v in payload.items() if k in declared}
        scheduled = payload.get("scheduled")
        self.fire(
            entry, params, payload=payload, delivery=None if scheduled is None else str(scheduled)
        )

    def fire(
        self,
        entry: Entry,
        params: Mapping[str, Any],
        *,
        payload: Any = None,
        delivery: str | None = None,
    ) -> Queued | None:
        """Record a fire of ``entry`` and queue its run, as its ``overlap`` says.

        Returns None when the server is draining (nothing is recorded then).
        """
        if self._draining.is_set():
            return None
        from corral.store.switches import trigger_enabled

        store = self.store()
        overlap = str(entry.args.get("overlap") or DEFAULT_OVERLAP.get(entry.kind, "allow"))
        outcome = "queued"
        active = active_runs(store, entry.playbook, entry.key) if overlap != "allow" else []
        if not trigger_enabled(store, entry.playbook, entry.key):
            outcome = "disabled"  # switched off (the UI's Triggers page): recorded, not run
        elif active and overlap == "skip":
            outcome = "skipped"
        elif active and overlap == "cancel_previous":
            self._cancel(store, [run_id for run_id, _ in active], f"trigger {entry.kind}")
        fire = Fire(
            playbook=entry.playbook,
            trigger=entry.key,
            kind=entry.kind,
            params=dict(params),
            payload=payload,
            delivery=delivery,
            started_by=f"{entry.kind} trigger",
        )
        with self._writing:
            queued = enqueue(store, fire, outcome=outcome)
        if not queued.duplicate:
            self.counters.count(self.counters.fires, entry.kind)
            shown = f"run {queued.run_id} queued" if queued.run_id else _not_queued[outcome]
            self._fire_log(f"{entry.playbook}: {entry.kind} fired: {shown}")
        self._wake.set()
        return queued

    def start_run(
        self,
        playbook: str,
        params: Mapping[str, Any],
        started_by: str,
        options: Mapping[str, Any] | None = None,
    ) -> Queued:
        """Queue a run asked for through the API (or MCP: ``options`` limit and check)."""
        fire = Fire(playbook, "api", "api", dict(params), params, None, started_by, options or {})
        with self._writing:
            queued = enqueue(self.store(), fire)
        self._wake.set()
        return queued

    def resume(self, run_id: str, started_by: str) -> None:
        """Resume a failed or interrupted run in a worker (``corral resume RUN``)."""
        self._reap()  # its last worker may have ended a moment ago: not a running run
        with self._lock:
            if run_id in self._workers:
                return
            # Here, also for a run a worker elsewhere began: its units are in this store.
            worker = self._run_here(run_id, ["resume", run_id])
            self._workers[run_id] = worker
        self.log(f"run {run_id} resumed by {started_by} ({worker.where})")

    def worker_output(self, run_id: str) -> str:
        from corral_plugins.server.workers import output_tail

        return output_tail(self.home, run_id)

    def _cancel(self, store: Store, run_ids: list[str], by: str) -> None:
        from corral.store.control import request_cancel

        for run_id in run_ids:
            request_cancel(store, run_id, by=by)

    def wake(self) -> None:
        self._wake.set()

    # -- the dispatcher -------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._fire_log.flush()
                self._reap()
                if not self._draining.is_set() and not self.options.hold:
                    self._start_queued()
            except Exception as exc:
                self.log(f"dispatcher: {type(exc).__name__}: {exc}")
            self._wake.wait(self.options.poll)
            self._wake.clear()

    def _start_queued(self) -> None:
        from corral_plugins.server.queue import queued_runs

        free = self.options.max_runs - len(self.running())
        if free <= 0:
            return
        store = self.store()
        serial = {(e.playbook, e.key) for e in self.entries() if e.args.get("overlap") == "queue"}
        for row in queued_runs(store, free + 100):
            if free <= 0:
                break
            key = (row["playbook"], row["trigger"])
            if key in serial and any(s == "running" for _, s in active_runs(store, *key)):
                continue  # overlap: queue: after the trigger's running run ends
            if row["id"] in self._workers:
                continue
            self._start(store, row)
            free -= 1

    def _start(self, store: Store, row: Mapping[str, Any]) -> None:
        run_id, playbook = str(row["id"]), str(row["playbook"])
        worker: Running
        if self._queue is not None:
            run = queued_run(
                store,
                run_id,
                playbook,
                root=self.root,
                home=self.home,
                environ=self.environ,
                wait_lock=self.options.wait_lock,
            )
            worker = self._queue.submit(run)
        else:
            args = queued_run_args(
                store,
                run_id,
                playbook,
                root=self.root,
                home=self.home,
                environ=self.environ,
                wait_lock=self.options.wait_lock,
            )
            worker = self._run_here(run_id, args)
        with self._lock:
            self._workers[run_id] = worker
        self.log(f"{row['playbook']}: run {run_id} started ({worker.where})")

    def _adopt(self) -> None:
        """Follow again the runs the last server handed to workers that are not over."""
        from corral_plugins.server.remote import adopt_handed_out

        if self._queue is not None:
            found = adopt_handed_out(self.store(), self._queue, self.options.executor, self.home)
            for run_id, run in found.items():
                self._workers[run_id] = run
                self.log(f"run {run_id} is still with the workers ({run.where})")

    def _run_here(self, run_id: str, args: list[str]) -> Worker | WarmRun:
        """Run ``corral ARGS`` for ``run_id``: in a warm worker, else a process of its own."""
        if self._warm is not None:
            return self._warm.run(run_id, args)
        return spawn(run_id, args, project=self.root, home=self.home, environ=self.environ)

    def _reap(self) -> None:
        with self._lock:
            ended = [(w, w.finished()) for w in self._workers.values()]
            ended = [(w, code) for w, code in ended if code is not None]
            for worker, _ in ended:
                del self._workers[worker.run_id]
        if not ended:
            return
        store = self.store()
        for worker, code in ended:
            row = store.run_row(worker.run_id)
            status = row["status"] if row else "gone"
            if fail_unstarted(store, worker.run_id, code):
                status = "failed before it started"
            self.log(f"run {worker.run_id} ended: {status} (exit {code})")
        store.refresh_liveness()  # a worker that died mid-run: interrupted, resumable
        self._wake.set()

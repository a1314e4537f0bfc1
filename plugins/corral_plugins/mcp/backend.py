"""Where the MCP tools' runs go: a detached worker (stdio) or the running server (HTTP).

``corral mcp`` over stdio has no daemon: :class:`Detached` queues a run in the store
(as ``corral serve`` does, :func:`~corral_plugins.server.queue.enqueue`) and starts its
worker (``corral run --queued-run ID``) in a session of its own, so the run goes on
when the MCP client goes away. Under ``corral serve``, :class:`InServer` hands runs to
the server, whose dispatcher starts them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store
    from corral_plugins.server.daemon import Server
    from corral_plugins.server.project import Project, Served
    from corral_plugins.server.workers import Worker

__all__ = ["Backend", "Detached", "InServer"]

# As corral serve's default: a run waits this long for a host another run holds.
WAIT_LOCK = 3600.0


class Backend:
    """The project, the store, and how runs start: what every tool works on."""

    root: Path
    registry: Any
    environ: Mapping[str, str]
    home: Path
    # Over HTTP a run takes the project's inventory (the server looks it up for each
    # run); over stdio it may take another inventory of the project.
    takes_inventory = True

    def store(self) -> Store:
        raise NotImplementedError

    def project(self) -> Project:
        raise NotImplementedError

    def served(self, name: str) -> Served | None:
        return self.project().served.get(name)

    def start_run(
        self,
        playbook: str,
        params: Mapping[str, Any],
        started_by: str,
        inventory: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue a run; ``options``: ``limit`` and ``check``, as the store keeps them."""
        raise NotImplementedError

    def resume(self, run_id: str, started_by: str) -> None:
        raise NotImplementedError

    def worker_output(self, run_id: str) -> str:
        from corral_plugins.server.workers import output_tail

        return output_tail(self.home, run_id)

    def wake(self) -> None:
        """A run was asked to cancel: the server looks at once (a detached run polls)."""


class Detached(Backend):
    """``corral mcp`` over stdio: runs in detached workers, the project loaded here."""

    def __init__(self, root: Path, registry: Any, environ: Mapping[str, str]) -> None:
        from corral.paths import corral_home

        self.root = root.resolve()
        self.registry = registry
        self.environ = dict(environ)
        self.home = corral_home(environ)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._project: Project | None = None
        self._stamp: tuple[tuple[str, float], ...] = ()
        self._workers: list[Worker] = []

    def store(self) -> Store:
        # Tools run in the SDK's thread pool; SQLite connections stay in their thread.
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            from corral.store.db import open_store

            store = self._local.store = open_store(self.environ)
        self._reap(store)
        return store

    def project(self) -> Project:
        """The project's playbooks, loaded again when a file of it changed."""
        from corral_plugins.server.project import Project, load_served, project_stamp

        with self._lock:
            stamp = project_stamp(self.root, self._project or Project(self.root))
            if self._project is None or stamp != self._stamp:
                self._project = load_served(self.root, self.registry, self.environ)
                self._stamp = project_stamp(self.root, self._project)
            return self._project

    def start_run(
        self,
        playbook: str,
        params: Mapping[str, Any],
        started_by: str,
        inventory: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        from corral_plugins.server.queue import Fire, enqueue
        from corral_plugins.server.workers import queued_run_args

        store = self.store()
        fire = Fire(playbook, "mcp", "mcp", dict(params), params, None, started_by, options or {})
        run_id = enqueue(store, fire).run_id
        args = queued_run_args(
            store,
            run_id,
            playbook,
            root=self.root,
            home=self.home,
            environ=self.environ,
            wait_lock=WAIT_LOCK,
            inventory=inventory,
        )
        self._spawn(run_id, args)
        return run_id

    def resume(self, run_id: str, started_by: str) -> None:
        self._spawn(run_id, ["resume", run_id])

    def _spawn(self, run_id: str, args: list[str]) -> None:
        from corral_plugins.server.workers import spawn

        worker = spawn(run_id, args, project=self.root, home=self.home, environ=self.environ)
        with self._lock:
            self._workers.append(worker)

    def _reap(self, store: Store) -> None:
        """Collect workers that ended (no zombies); a run whose worker ended before it
        started (bad params, a playbook gone) is marked failed, as the server does."""
        from corral_plugins.server.queue import fail_unstarted

        with self._lock:
            ended = [(w, w.finished()) for w in self._workers]
            self._workers = [w for w, code in ended if code is None]
        for worker, code in ended:
            if code is not None:
                fail_unstarted(store, worker.run_id, code)


class InServer(Backend):
    """``/mcp`` under ``corral serve``: runs go to the server's queue and dispatcher."""

    takes_inventory = False

    def __init__(self, server: Server) -> None:
        self.server = server
        self.root = server.root
        self.registry = server.registry
        self.environ = server.environ
        self.home = server.home

    def store(self) -> Store:
        return self.server.store()

    def project(self) -> Project:
        return self.server.project

    def start_run(
        self,
        playbook: str,
        params: Mapping[str, Any],
        started_by: str,
        inventory: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        return self.server.start_run(playbook, params, started_by, options).run_id

    def resume(self, run_id: str, started_by: str) -> None:
        self.server.resume(run_id, started_by=started_by)

    def worker_output(self, run_id: str) -> str:
        return self.server.worker_output(run_id)

    def wake(self) -> None:
        self.server.wake()

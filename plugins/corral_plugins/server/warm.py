"""Warm workers, the server's side: long-lived processes that run queued runs in turn.

With ``corral serve --warm`` (the default) a queued run goes to an idle warm worker
(:mod:`corral_plugins.server.warm_worker`) instead of a new ``corral run`` process, so
the next run to a host seen recently finds its SSH link logged in already
(:mod:`corral_plugins.ssh.pool`). Each worker runs one run at a time, in a session of
its own, as a per-run worker does: a run that crashes or is killed takes that worker
down, never the server; the run's row carries the worker's pid, so the store's
liveness check marks it interrupted, and the next run starts in a new worker.

A :class:`WarmRun` has the API of :class:`~corral_plugins.server.workers.Worker`
(``finished``, ``terminate``, ``kill``, ``wait``), so the dispatcher treats both alike.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral_plugins.server.workers import signal_group, spool_dir

__all__ = ["DEFAULT_IDLE", "WarmRun", "WarmWorkers"]

DEFAULT_IDLE = 300.0  # seconds an SSH link may wait, idle, for the next run
START_ATTEMPTS = 3  # workers tried for one run before giving up (they die at once)


@dataclass
class _Process:
    """One warm worker process and the run it is running, if any."""

    popen: subprocess.Popen[str]
    current: WarmRun | None = None


@dataclass
class WarmRun:
    """A run handed to a warm worker; ``process`` is the worker's (its pid is the run's)."""

    run_id: str
    process: subprocess.Popen[str]
    started: float
    code: int | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def where(self) -> str:
        return f"pid {self.process.pid}"

    def finished(self) -> int | None:
        """The run's exit code once the worker answered (or died), else None."""
        return self.code if self.done.is_set() else None

    def wait(self, timeout: float) -> int | None:
        self.done.wait(timeout)
        return self.finished()

    def terminate(self) -> None:
        """SIGTERM the worker's process group: the run winds down as after Ctrl-C."""
        if not self.done.is_set():
            signal_group(self.process.pid, signal.SIGTERM)

    def kill(self) -> None:
        if not self.done.is_set():
            signal_group(self.process.pid, signal.SIGKILL)

    def _end(self, code: int) -> None:
        self.code = code
        self.done.set()


class WarmWorkers:
    """The server's warm worker processes: idle ones wait for the next run."""

    def __init__(
        self,
        project: Path,
        home: Path,
        environ: Mapping[str, str],
        idle: float = DEFAULT_IDLE,
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        self.project = project
        self.home = home
        self.environ = {
            **environ,
            "CORRAL_HOME": str(home),
            "CORRAL_SSH_POOL_IDLE": f"{idle:g}",
        }
        self.on_end = on_end  # told when a run ends (the dispatcher wakes)
        self._processes: list[_Process] = []
        self._lock = threading.Lock()

    def run(self, run_id: str, args: Sequence[str]) -> WarmRun:
        """Hand ``corral ARGS`` to an idle worker (a new one when none is idle)."""
        log = spool_dir(self.home, run_id) / "output.log"
        line = json.dumps({"run_id": run_id, "args": list(args), "log": str(log)}) + "\n"
        for _ in range(START_ATTEMPTS):
            process = self._claim(run_id) or self._start(run_id)
            run = process.current
            assert run is not None
            try:
                stdin = process.popen.stdin
                assert stdin is not None
                stdin.write(line)
                stdin.flush()
            except (OSError, ValueError):
                # It died while idle: its reader drops it; try the next one.
                process.current = None
                self._forget(process)
                continue
            return run
        # The dispatcher logs this and tries again at its next look at the queue.
        where = self.home / "serve" / "warm-workers.log"
        raise RuntimeError(f"warm workers end as soon as they start: see {where}")

    def stop(self) -> None:
        """No more jobs: each worker ends once its run has (idle ones at once)."""
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            with contextlib.suppress(OSError, ValueError):
                if process.popen.stdin is not None:
                    process.popen.stdin.close()

    def kill(self) -> None:
        """SIGKILL the workers still alive (after :meth:`stop` and a wait)."""
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            if process.popen.poll() is None:
                signal_group(process.popen.pid, signal.SIGKILL)

    def _claim(self, run_id: str) -> _Process | None:
        """An idle worker, made busy with ``run_id``'s run (under the lock: API threads too)."""
        with self._lock:
            for process in self._processes:
                if process.current is None and process.popen.poll() is None:
                    process.current = WarmRun(run_id, process.popen, time.time())
                    return process
        return None

    def _start(self, run_id: str) -> _Process:
        errors = (self.home / "serve").joinpath("warm-workers.log")
        errors.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with errors.open("ab") as stderr:
            popen = subprocess.Popen(
                [sys.executable, "-m", "corral_plugins.server.warm_worker"],
                cwd=self.project,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=self.environ,
                text=True,
                start_new_session=True,
            )
        process = _Process(popen, WarmRun(run_id, popen, time.time()))
        with self._lock:
            self._processes.append(process)
        threading.Thread(
            target=self._read, args=(process,), name=f"warm-{popen.pid}", daemon=True
        ).start()
        return process

    def _read(self, process: _Process) -> None:
        """Answers of one worker; at its end (exit or death) the run it had ends too."""
        stdout = process.popen.stdout
        assert stdout is not None
        for line in stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            run = process.current
            if run is not None and answer.get("run_id") == run.run_id:
                process.current = None
                run._end(int(answer.get("exit", 1)))
                self.on_end()
        code = process.popen.wait()
        self._forget(process)
        run = process.current
        if run is not None:  # died mid-run: the store's liveness check marks it interrupted
            run._end(code)
            self.on_end()

    def _forget(self, process: _Process) -> None:
        with self._lock:
            if process in self._processes:
                self._processes.remove(process)

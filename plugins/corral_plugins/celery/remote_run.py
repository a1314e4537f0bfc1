"""A whole run on a worker: the ``corral.run`` task (``corral serve --executor celery``).

The server hands over a queued run (corral.executors.QueuedRun, sealed). The worker
runs it as ``corral run --queued-run ID --output json`` in the project directory, with
a run store of its own under ``$CORRAL_HOME/remote/RUN_ID`` (its leases, approvals,
cancel and pause work there as in any run), and bridges that run to the server
(corral.store.mirror): every quarter of a second it sends up the events the run wrote,
its record once it started, its approval requests and a heartbeat, and it applies
what the server sends down (a cancel, a pause, the answers to approvals). The run's
own process gets SIGTERM if the worker dies, so a lost worker leaves no run behind
that nobody watches; the server then records the run ``interrupted``. The other way
round, a run whose server has not been heard of for ``CORRAL_SERVER_LOST_AFTER``
seconds (``CORRAL_BROKER_WAIT`` while the broker itself is away) is cancelled as
``corral cancel`` would. What it has to send waits while the broker is away.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from corral_plugins.celery.channel import RunChannel
from corral_plugins.celery.outage import broker_errors, broker_wait

__all__ = ["run_whole"]

TICK = 0.25  # seconds between two exchanges with the server
BEAT_EVERY = 2.0  # seconds between two heartbeats when nothing else went up
OUTPUT_KEPT = 64 * 1024  # bytes of the run's error output sent up when it ends
# Seconds without the server's heartbeat (it sends one every 2 s) before the run is
# cancelled here: what it does would be recorded nowhere (CORRAL_SERVER_LOST_AFTER).
SERVER_LOST_AFTER = 30.0
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def run_whole(channel: RunChannel, payload: Mapping[str, Any], *, worker: str) -> int:
    """Run the queued run ``payload`` describes, bridged through ``channel``; its exit code.

    Whatever happens, the server hears how it ended (else it would wait for the run).
    ``worker`` is this worker's name, which the server notes in the run's output.
    """
    outbox = _Outbox(channel)
    outbox.put({"output": f"corral: taken by worker {worker} (pid {os.getpid()})\n"})
    down = outbox.down() or {}
    if not _RUN_ID.fullmatch(str(payload["run_id"])):  # it names a directory here
        code, output = 5, f"error: {payload['run_id']!r} is not a run id\n"
    elif (down.get("control") or {}).get("action") == "cancel":
        code, output = 99, "cancelled while queued: not started\n"
    elif not (project := Path(str(payload["project"]))).is_dir():
        code = 5
        output = (
            f"error: the project directory {project} is not on this worker\n"
            "hint: workers run served runs in the project at the same path as the "
            "server's: deploy it there (a checkout, an image, a shared file system)\n"
        )
    else:
        try:
            code, output = _run_here(outbox, payload, project, down)
        except Exception as exc:
            code = 1
            output = f"error: the worker could not run it: {type(exc).__name__}: {exc}\n"
    outbox.put({"end": code, "output": output})
    outbox.drain(_patience())
    return code


def _patience() -> float:
    """``CORRAL_SERVER_LOST_AFTER``: how long a server (or the broker) may stay silent."""
    return float(os.environ.get("CORRAL_SERVER_LOST_AFTER") or SERVER_LOST_AFTER)


class _Outbox:
    """The messages up, in order, kept while the broker is away (a restart, a blip)."""

    def __init__(self, channel: RunChannel) -> None:
        self.channel = channel
        self.waiting: collections.deque[Mapping[str, Any]] = collections.deque()
        self.away = False  # the last call to the broker failed

    def put(self, message: Mapping[str, Any]) -> None:
        self.waiting.append(message)
        self.flush()

    def flush(self) -> bool:
        """Send what waits; False when the broker cannot be reached (kept for later)."""
        while self.waiting:
            try:
                self.channel.up(self.waiting[0])
            except broker_errors():
                self.away = True
                return False
            self.away = False
            self.waiting.popleft()
        return True

    def drain(self, patience: float) -> None:
        """Send what waits, trying again for up to ``patience`` seconds."""
        deadline = time.monotonic() + patience
        while not self.flush() and time.monotonic() < deadline:
            time.sleep(1.0)

    def down(self) -> Mapping[str, Any] | None:
        """The server's state for the run (None when none, or the broker is away)."""
        try:
            state = self.channel.down()
        except broker_errors():
            self.away = True
            return None
        self.away = False
        return state


def _run_here(
    outbox: _Outbox, payload: Mapping[str, Any], project: Path, down: Mapping[str, Any]
) -> tuple[int, str]:
    from corral.paths import corral_home
    from corral.store.db import open_store
    from corral.store.mirror import queue_here

    run_id = str(payload["run_id"])
    home = corral_home(os.environ) / "remote" / run_id
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    environ = {**os.environ, "CORRAL_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    store = open_store(environ)
    try:
        queue_here(
            store,
            run_id,
            str(payload["playbook"]),
            started_by=str(payload.get("started_by") or ""),
            trigger=str(payload.get("trigger") or ""),
        )
        argv = _hand_over(home, payload)
        return _Bridge(outbox, store, run_id, down).run(
            argv, cwd=str(project), environ=environ, log=home / "output.log"
        )
    finally:
        store.close()
        shutil.rmtree(home, ignore_errors=True)


def _hand_over(home: Path, payload: Mapping[str, Any]) -> list[str]:
    """The run's arguments, its hand-over files (``@PATH``) written under ``home``."""
    files: Mapping[str, str] = payload.get("files") or {}
    moved: dict[str, str] = {}
    for number, (path, text) in enumerate(files.items()):
        target = home / f"{number}-{Path(path).name}"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        moved[f"@{path}"] = f"@{target}"
    argv = [moved.get(arg, arg) for arg in payload["argv"]]
    return [*argv, "--output", "json"]


class _Bridge:
    """Runs the run's process and keeps the server told (see the module docstring)."""

    def __init__(self, outbox: _Outbox, store: Any, run_id: str, down: Any) -> None:
        self.outbox = outbox
        self.store = store
        self.run_id = run_id
        self.down = down
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.recorded = False
        self.approvals: list[dict[str, Any]] = []
        self.heard = time.monotonic()  # when the server's state last changed (its beat)
        self.lost_after = _patience()
        self.broker_wait = broker_wait(os.environ)  # a broker away: as long as shards wait
        self.given_up = False

    def run(
        self, argv: list[str], *, cwd: str, environ: Mapping[str, str], log: Path
    ) -> tuple[int, str]:
        with log.open("w+b") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "corral", *argv],
                cwd=cwd,
                env=dict(environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                preexec_fn=_ended_with_parent(),  # noqa: PLW1509 - only sets a signal
            )
            try:
                self._follow(process)
                code = process.wait()
            finally:
                _stop(process)  # the bridge failed: the run must not go on unreported
            errors.seek(max(0, errors.tell() - OUTPUT_KEPT))
            return code, errors.read().decode("utf-8", errors="replace")

    def _follow(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        reader = threading.Thread(
            target=self._read, args=(process.stdout,), name="corral-run-events", daemon=True
        )
        reader.start()
        beat = 0.0
        while reader.is_alive() or not self.events.empty():
            reader.join(TICK)
            if self._exchange():
                beat = time.monotonic()
            elif time.monotonic() - beat > BEAT_EVERY and not self.outbox.waiting:
                beat = time.monotonic()
                self.outbox.put({"beat": time.time()})
        self._exchange()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            with contextlib.suppress(ValueError):  # not an event: a stray print
                self.events.put(json.loads(line))

    def _exchange(self) -> bool:
        """Send up what is new, apply what came down; True when something went up."""
        from corral.store.mirror import apply_down, approval_states, run_record

        put = self.outbox.waiting.append  # sent together below, in order
        before = len(self.outbox.waiting)
        batch = []
        while not self.events.empty():
            batch.append(self.events.get())
        if not self.recorded and (record := run_record(self.store, self.run_id)) is not None:
            self.recorded = True
            put(record)
        if batch:
            put({"events": batch})
        approvals = approval_states(self.store, self.run_id)
        if approvals != self.approvals:
            self.approvals = approvals
            put({"approvals": approvals})
        sent = len(self.outbox.waiting) > before
        self.outbox.flush()
        down = self.outbox.down()
        if down is not None and down != self.down:
            self.down, self.heard = down, time.monotonic()
            apply_down(self.store, self.run_id, down)
        elif not self.given_up:
            # A silent server (the broker answers, the server does not) is given up
            # sooner than a broker that is away (it may be restarting).
            patience = self.broker_wait if self.outbox.away else self.lost_after
            if time.monotonic() - self.heard > patience:
                self._give_up()
        return sent

    def _give_up(self) -> None:
        from corral.store.control import request_cancel

        self.given_up = True
        with contextlib.suppress(Exception):  # it is ending anyway
            request_cancel(self.store, self.run_id, by="corral worker (no server)")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the run's process if it still runs: SIGTERM (it winds down), then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ended_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this worker dies (kill -9
    included): the run winds down instead of going on with nobody to report it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec

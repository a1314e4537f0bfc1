"""Stopping a run cleanly: the first SIGINT/SIGTERM winds down, a second aborts.

On the first signal no new unit starts; units already running get a grace
period to finish. When it ends, the units still running are killed (the engine
closes the connections, which stop their process groups, locally and over SSH;
they are reported ``interrupted``) and the run goes on winding down: ``always``
sections, notified handlers and the rollback of a play cut short run, on
connections opened anew. That cleanup gets the grace period again; what still
runs then is killed and the run is aborted. A second signal aborts at once:
whatever runs is killed and nothing more runs. Either way the run exits 99.

The same wind-down can be asked from another process (``corral cancel``, the server):
the run's store watcher (:mod:`corral.store.control`) calls :meth:`StopControl.cancel`,
and :meth:`StopControl.abort` for ``corral cancel --now``.
``corral pause`` sets :attr:`StopControl.paused`: the engine calls :meth:`StopControl.hold`
before each new unit and waits there until the pause is lifted or the run stops.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any


@dataclass
class StopControl:
    """Shared by the engine and whoever stops it (signal handlers, ``corral serve``)."""

    stopping: threading.Event = field(default_factory=threading.Event)
    # Aborted: nothing more runs, not even cleanup (second signal, cancel --now, or
    # the cleanup ran past its limit).
    cancelled: threading.Event = field(default_factory=threading.Event)
    killed_at: float | None = None  # time.time() when running units were last killed
    # What the units running now watch (their StepContext.cancelled): set when they
    # are killed, then replaced, so the cleanup that follows starts with a clear one.
    _kill: threading.Event = field(default_factory=threading.Event)
    _timers: list[threading.Timer] = field(default_factory=list)
    _on_kill: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Asked from another process: no new unit starts until cleared (see hold()).
    paused: threading.Event = field(default_factory=threading.Event)
    # Where notes (cancel, pause, continue asked from elsewhere) go: the run's event bus.
    _listener: Callable[[dict[str, Any]], None] | None = None
    _notes: list[dict[str, Any]] = field(default_factory=list)

    def request_stop(self, grace: float) -> None:
        """Start no new units; kill what still runs after ``grace`` seconds, then let
        the cleanup run for up to ``grace`` seconds more before aborting."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._later(grace, self.kill)
        self._later(2 * grace, lambda: self._cleanup_over(grace))

    def abort(self, by: str | None = None) -> None:
        """Stop everything at once: kill what runs, run no cleanup (``by``: who asked,
        from another process; None from a signal handler)."""
        if by is not None:
            self._note(action="abort", by=by)
        self.stopping.set()
        self.cancelled.set()
        # From a signal handler: the callbacks take locks the interrupted thread may hold.
        threading.Thread(target=self.kill, name="corral-abort", daemon=True).start()

    def cancel(self, grace: float, by: str) -> None:
        """Wind down as after a first signal, asked by ``by`` from another process."""
        self._note(action="cancel", by=by, grace=grace)
        self.request_stop(grace)

    def pause(self, by: str) -> None:
        """Start no new unit until :meth:`unpause` (running units finish)."""
        if not self.paused.is_set() and not self.stopping.is_set():
            self.paused.set()
            self._note(action="pause", by=by)

    def unpause(self) -> None:
        if self.paused.is_set():
            self.paused.clear()
            self._note(action="continue")

    def hold(self) -> bool:
        """Wait while the run is paused, until continued or stopping; returns ``stopping``.

        Called by the engine before each new unit (the plan's task boundary).
        """
        # Polled rather than waited on one event: either of two events ends the wait.
        while self.paused.is_set() and not self.stopping.wait(0.2):
            pass
        return self.stopping.is_set()

    def listen(self, listener: Callable[[dict[str, Any]], None] | None) -> None:
        """Send each note to ``listener`` (None: to nobody); notes made before are sent now."""
        with self._lock:
            self._listener = listener
            if listener is not None:
                for note in self._notes:
                    _tell(listener, note)

    def _note(self, **fields: Any) -> None:
        with self._lock:
            self._notes.append(fields)
            if self._listener is not None:
                _tell(self._listener, fields)

    def on_kill(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from another thread) each time running units are killed."""
        with self._lock:
            self._on_kill.append(callback)

    def unit_stop(self) -> threading.Event:
        """The event a unit starting now watches: set if it is still running when killed."""
        with self._lock:
            return self._kill

    def was_running(self, started: float) -> bool:
        """Whether a unit that started at ``started`` (time.time()) was cut short."""
        killed = self.killed_at
        return killed is not None and started <= killed

    def kill(self) -> None:
        """Kill the units running now; after an abort, any unit that would start too."""
        with self._lock:
            self.killed_at = time.time()
            event, self._kill = self._kill, threading.Event()
            if self.cancelled.is_set():
                self._kill.set()
            callbacks = list(self._on_kill)
        event.set()
        for callback in callbacks:
            callback()

    def _cleanup_over(self, grace: float) -> None:
        if not self.cancelled.is_set():
            self._note(action="abort", limit=2 * grace)
            self.abort()

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _tell(listener: Callable[[dict[str, Any]], None], note: dict[str, Any]) -> None:
    # A failing event writer is raised to the run by its own next emit; the pause or
    # cancel the note is about must happen regardless.
    with contextlib.suppress(Exception):
        listener(note)


@contextlib.contextmanager
def handle_signals(
    control: StopControl,
    grace: float,
    notify: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
) -> Iterator[None]:
    """Install SIGINT/SIGTERM handlers for the duration of a run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not control.stopping.is_set():
            notify(
                f"{name}: stopping after the running tasks finish (up to {grace:g}s); "
                "send it again to abort at once"
            )
            control.request_stop(grace)
            return
        notify(f"{name}: aborting")
        control.abort()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        control.close()

"""Stopping a run cleanly: the first SIGINT/SIGTERM winds down, a second aborts.

On the first signal no new unit starts; units already running get a grace
period to finish; ``always`` sections and notified handlers still run where
they can; the run ends as interrupted (exit 99). A second signal, or the end
of the grace period, cancels at once: commands still running are killed (the
engine closes the connections, which stop their process groups, locally and over
SSH) and their units are reported as ``interrupted``.
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


@dataclass
class StopControl:
    """Shared by the engine and whoever stops it (signal handlers, ``corral serve``)."""

    stopping: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cancelled_at: float | None = None  # time.time() when cancelled
    _timer: threading.Timer | None = None
    _on_cancel: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def request_stop(self, grace: float) -> None:
        """Start no new units; cancel whatever still runs after ``grace`` seconds."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._timer = threading.Timer(grace, self._cancel)
        self._timer.daemon = True
        self._timer.start()

    def abort(self) -> None:
        self.stopping.set()
        # From a signal handler: the callbacks take locks the interrupted thread may hold.
        threading.Thread(target=self._cancel, name="corral-abort", daemon=True).start()
        self.cancelled.set()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once, from another thread) when the run is cancelled."""
        with self._lock:
            self._on_cancel.append(callback)

    def was_running(self, started: float) -> bool:
        """Whether a unit that started at ``started`` (time.time()) was cut short."""
        return self.cancelled_at is not None and started <= self.cancelled_at

    def _cancel(self) -> None:
        with self._lock:
            if self.cancelled_at is None:
                self.cancelled_at = time.time()
            callbacks, self._on_cancel = self._on_cancel, []
        self.cancelled.set()
        for callback in callbacks:
            callback()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


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

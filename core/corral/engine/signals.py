"""Stopping a run cleanly: the first SIGINT/SIGTERM winds down, a second aborts.

On the first signal no new unit starts; units already running get a grace
period to finish; ``always`` sections and notified handlers still run where
they can; the run ends as interrupted (exit 99). A second signal, or the end
of the grace period, cancels at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType


@dataclass
class StopControl:
    """Shared by the engine and whoever stops it (signal handlers, ``corral serve``)."""

    stopping: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    _timer: threading.Timer | None = None

    def request_stop(self, grace: float) -> None:
        """Start no new units; cancel whatever still runs after ``grace`` seconds."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._timer = threading.Timer(grace, self.cancelled.set)
        self._timer.daemon = True
        self._timer.start()

    def abort(self) -> None:
        self.stopping.set()
        self.cancelled.set()

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

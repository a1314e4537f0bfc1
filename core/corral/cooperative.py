"""Waiting without holding a thread: many hosts' steps driven by one thread.

A run over a thousand hosts used to hold a thousand threads, each blocked on its own
host's round trip. When their waits ended together, all of them queued for the
interpreter lock, and each waiter woke every few milliseconds to ask for it: on a big
fleet the kernel spent as much time switching threads as Python spent working.

A :class:`Hub` is one thread that drives many units as greenlets. A unit that waits
(a connection's round trip, a retry's delay, a loop's pause) hands the thread to the
next ready unit instead of sleeping in an OS thread of its own. The engine puts a
unit on the hub when its step type is ``cooperative`` and its connection type is too:
that is, they wait only through the functions below. Outside a hub each of them blocks
like its standard counterpart, so connections and steps may call them unconditionally.

What must not happen on a hub is waiting for another unit by other means (a plain
lock another unit holds across a wait, an event another unit sets): the thread is
theirs too. :func:`held` takes a lock politely.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import greenlet

__all__ = ["Hub", "call_blocking", "current_hub", "held", "sleep", "wait_event"]

T = TypeVar("T")

# How often a unit waiting on a hub looks at an event or a lock another thread may set.
POLL = 0.05
# A busy lock is tried again this often (locks on the hub are held for microseconds).
LOCK_POLL = 0.001


class _Unit(greenlet.greenlet):
    """A greenlet the hub runs; knows its hub so the functions below can find it."""

    hub: Hub


def current_hub() -> Hub | None:
    """The hub driving the calling code, or None on an ordinary thread."""
    unit = greenlet.getcurrent()
    return unit.hub if type(unit) is _Unit else None


def sleep(seconds: float) -> None:
    """``time.sleep``, letting other units run meanwhile when called on a hub."""
    hub = current_hub()
    if hub is not None:
        hub.sleep(seconds)
    elif seconds > 0:  # sleep(0) still gives up the CPU: costly across 10,000 hosts
        time.sleep(seconds)


def wait_event(event: threading.Event, timeout: float | None = None) -> bool:
    """``event.wait(timeout)``, letting other units run meanwhile when called on a hub."""
    hub = current_hub()
    if hub is None:
        return event.wait(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while not event.is_set():
        left = POLL if deadline is None else deadline - time.monotonic()
        if left <= 0:
            return False
        hub.sleep(min(left, POLL))
    return True


def call_blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``function``; on a hub, in a helper thread while other units run."""
    hub = current_hub()
    if hub is None:
        return function(*args, **kwargs)
    return hub.offload(function, *args, **kwargs)


@contextmanager
def held(lock: threading.Lock) -> Iterator[None]:
    """``with lock:`` that, on a hub, lets other units run (and release it) meanwhile."""
    hub = current_hub()
    if hub is None:
        lock.acquire()
    else:
        while not lock.acquire(blocking=False):
            hub.sleep(LOCK_POLL)
    try:
        yield
    finally:
        lock.release()


class Hub:
    """One thread that runs up to ``limit`` units at a time, each as a greenlet.

    :meth:`spawn` is called from any thread; the unit reports its own outcome (the
    engine's units put it on a queue). A unit that raises is a bug in the engine: the
    exception is kept and raised again by :meth:`close`.
    """

    def __init__(self, limit: int, *, name: str = "corral-hub", offload_threads: int = 32) -> None:
        self.limit = max(1, limit)
        self.name = name
        self._offload_threads = offload_threads
        self._inbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._ready: deque[tuple[_Unit, Any]] = deque()
        self._waiting: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._timers: list[tuple[float, int, _Unit]] = []
        self._order = itertools.count()
        self._running = 0
        self._main: greenlet.greenlet | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._start_lock = threading.Lock()
        self._crashed: BaseException | None = None

    # -- from any thread -------------------------------------------------------

    def spawn(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on the hub, as soon as fewer than ``limit`` units run."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                    self._thread.start()
        self._inbox.put(("spawn", function, args))

    def close(self, *, wait: bool = True) -> None:
        """Let the units end, stop the thread; raise what crashed a unit, if anything did.

        ``wait=False`` (an aborted run) does not wait for units still running: the
        thread ends once they do, as a daemon.
        """
        thread = self._thread
        if thread is not None:
            self._inbox.put(None)
            if wait:
                thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
        if self._crashed is not None:
            crashed, self._crashed = self._crashed, None
            raise crashed

    # -- from a unit on the hub -------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """Park the calling unit for ``seconds``; the others run meanwhile."""
        unit = greenlet.getcurrent()
        assert self._main is not None
        assert type(unit) is _Unit
        heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._order), unit))
        self._main.switch()

    def offload(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` in a helper thread; the calling unit waits, the others run."""
        unit = greenlet.getcurrent()
        assert self._main is not None
        assert type(unit) is _Unit
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._offload_threads, thread_name_prefix=self.name)
        future = self._pool.submit(function, *args, **kwargs)
        future.add_done_callback(lambda done: self._inbox.put(("wake", unit, done)))
        done: Future[T] = self._main.switch()
        return done.result()

    # -- the hub's own thread ---------------------------------------------------

    def _loop(self) -> None:
        self._main = greenlet.getcurrent()
        closing = False
        while not (closing and self._running == 0 and not self._waiting):
            while self._ready:
                unit, value = self._ready.popleft()
                unit.switch(value)
            timeout = None
            if self._timers:
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    self._ready.append((heapq.heappop(self._timers)[2], None))
                if self._ready:
                    continue
                timeout = self._timers[0][0] - now
            elif closing and self._running == 0 and not self._waiting:
                break
            try:
                message = self._inbox.get(timeout=timeout)
            except queue.Empty:
                continue
            while True:
                if message is None:
                    closing = True
                else:
                    self._take(message)
                try:
                    message = self._inbox.get_nowait()
                except queue.Empty:
                    break
            self._start_waiting()

    def _take(self, message: tuple[Any, ...]) -> None:
        if message[0] == "spawn":
            self._waiting.append((message[1], message[2]))
        else:  # "wake": an offloaded call is done
            self._ready.append((message[1], message[2]))

    def _start_waiting(self) -> None:
        while self._waiting and self._running < self.limit:
            function, args = self._waiting.popleft()
            unit = _Unit(self._unit_body(function, args), parent=self._main)
            unit.hub = self
            self._running += 1
            self._ready.append((unit, None))

    def _unit_body(
        self, function: Callable[..., Any], args: tuple[Any, ...]
    ) -> Callable[[Any], None]:
        def body(_: Any) -> None:
            try:
                function(*args)
            except BaseException as exc:  # the engine's units report their own failures
                self._crashed = self._crashed or exc
            finally:
                self._running -= 1
                self._start_waiting()

        return body

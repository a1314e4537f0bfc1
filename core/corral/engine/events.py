"""Run events: built once, redacted, and sent to the output writer and to plugins.

The schema is documented in ``docs/events.md`` and versioned by
``EVENT_SCHEMA_VERSION``; every event has ``v``, ``event``, ``run_id`` and
``time`` (Unix seconds, UTC).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from corral.output import FlushingWriter, IdleWriter, Writer
from corral.secrets import REDACTED, Secret, remembered_secrets

EVENT_SCHEMA_VERSION = 1

Observer = Callable[[Mapping[str, Any]], list[tuple[str, BaseException]]]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Make ``value`` JSON-ready; secrets become ``********``."""
    # Every task result passes through here: exact types first, and plain values are kept
    # without a call (isinstance against the Mapping ABC costs more than the whole walk).
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _SCALARS else _plain(v)
            for k, v in value.items()
        }
    if kind is list or isinstance(value, list | tuple | set | frozenset):
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if isinstance(value, str | int | float | bool) else str(value)


def _redacted(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (JSON-ready) with each secret replaced in every string, keys included.

    Strings only: a secret made of digits leaves numbers alone, and the event stays
    valid JSON whatever the secret is.
    """
    kind = type(value)
    if kind is str or isinstance(value, str):  # str subclasses too: a decrypted !vault value
        for secret in secrets:  # longest first, so a secret inside another goes with it
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if kind is dict:
        return {_redacted(k, secrets): _redacted(v, secrets) for k, v in value.items()}
    if kind is list:
        return [_redacted(v, secrets) for v in value]
    return value


class EventBus:
    """Stamps and redacts events, and delivers them in order to plugins and writers.

    Events are built on the emitting thread. Once :meth:`start` has run, one delivery
    thread hands them on, so a worker never waits for the terminal, the run store's
    queue or a plugin's ``corral_event`` hook (with 1,000 workers, a lock held across
    each line written cost seconds on a 10,000-host run). :meth:`flush` waits until
    everything emitted so far is delivered (and the run store committed it); :meth:`close`
    drains and stops the thread. A writer that raises stops delivery: the error is raised
    again on the next ``emit``, ``flush`` or ``close``. Before ``start`` and after ``close``
    events are delivered on the emitting thread.
    """

    def __init__(
        self, run_id: str, writers: list[Writer], observer: Observer | None = None
    ) -> None:
        self.run_id = run_id
        self.writers = writers
        # The optional capabilities (corral.output), looked up once, not per event.
        self._idlers = [w for w in writers if isinstance(w, IdleWriter)]
        self._flushers = [w for w in writers if isinstance(w, FlushingWriter)]
        self.observer = observer
        self.secrets: set[str] = set()
        self._remembered = 0  # how many of corral.secrets.remembered_secrets() are in secrets
        self._lock = threading.Lock()  # delivery, one event at a time
        self.warnings: list[str] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def add_secret(self, value: str) -> None:
        """Redact ``value`` from every later event, also where JSON escaped it."""
        if value:
            self.secrets.add(value)
            self.secrets.add(json.dumps(value)[1:-1])

    def start(self) -> None:
        """Deliver from a thread of the bus's own from now on."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._deliver_queued, name=f"corral-events-{self.run_id}", daemon=True
            )
            self._thread.start()

    def emit(self, kind: str, **fields: Any) -> None:
        event: dict[str, Any] = {
            "v": EVENT_SCHEMA_VERSION,
            "event": kind,
            "run_id": self.run_id,
            "time": round(time.time(), 6),
        }
        event.update(_plain(fields))
        for value in remembered_secrets(self._remembered):  # decrypted vault values
            self._remembered += 1
            self.add_secret(value)
        if self.secrets:
            ordered = tuple(sorted(self.secrets, key=len, reverse=True))
            # The event's own field names stay: readers find events by them.
            event = {key: _redacted(value, ordered) for key, value in event.items()}
        self._send(event)

    def relay(self, event: Mapping[str, Any]) -> None:
        """Deliver an event another process's bus of this run built (a shard's, on a worker).

        It is stamped, JSON-ready and redacted already, with every secret this bus knew
        when the shard left (corral.engine.shards): it goes out as it is, at its own time.
        """
        self._send(dict(event))

    def warn(self, message: str) -> None:
        """Emit a ``warning`` event, once per distinct message."""
        with self._lock:
            if message in self.warnings:
                return
            self.warnings.append(message)
        self._send(self._warning(message))

    def flush(self) -> None:
        """Wait until every event emitted so far is delivered and the run store committed it."""
        thread = self._thread
        if thread is not None:
            done = threading.Event()
            self._queue.put(done)
            while not done.wait(0.2):
                if not thread.is_alive():
                    break
        self._raise_error()
        for writer in self._flushers:
            writer.flush()

    def close(self) -> None:
        """Deliver what is queued and stop the delivery thread; later events go directly."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()
        self._raise_error()

    # -- delivery ---------------------------------------------------------------------

    def _send(self, event: dict[str, Any]) -> None:
        self._raise_error()
        if self._thread is not None:
            self._queue.put(event)
            return
        with self._lock:
            self._deliver(event)
            self._idle_writers()

    def _deliver_queued(self) -> None:
        get, empty = self._queue.get, self._queue.empty
        while True:
            entry = get()
            if entry is _STOP:
                self._idle()
                return
            if isinstance(entry, threading.Event):
                self._idle()
                entry.set()
            elif self._error is None:
                try:
                    with self._lock:
                        self._deliver(entry)
                        if empty():  # nothing else to write for now: out with what waits
                            self._idle_writers()
                except BaseException as exc:  # raised again to the run by _raise_error
                    self._error = exc

    def _idle(self) -> None:
        if self._error is None:
            try:
                with self._lock:
                    self._idle_writers()
            except BaseException as exc:
                self._error = exc

    def _idle_writers(self) -> None:
        """Let writers that keep lines back write them: nothing else is queued."""
        for writer in self._idlers:
            writer.idle()

    def _deliver(self, event: Mapping[str, Any]) -> None:
        # Plugins first: a warning about one of them is written before the event
        # itself, so the recap stays the last line of the output.
        if self.observer is not None:
            for plugin, exc in self.observer(event):
                message = (
                    f"plugin {plugin!r} failed on event {event['event']!r}: "
                    f"{type(exc).__name__}: {exc}"
                )
                if message not in self.warnings:
                    self.warnings.append(message)
                    for writer in self.writers:
                        writer(self._warning(message))
        for writer in self.writers:
            writer(event)

    def _raise_error(self) -> None:
        error = self._error
        if error is not None:
            raise error

    def _warning(self, message: str) -> dict[str, Any]:
        return {
            "v": EVENT_SCHEMA_VERSION,
            "event": "warning",
            "run_id": self.run_id,
            "time": round(time.time(), 6),
            "message": message,
        }


_STOP = object()

"""Run events: built once, redacted, and sent to the output writer and to plugins.

The schema is documented in ``docs/events.md`` and versioned by
``EVENT_SCHEMA_VERSION``; every event has ``v``, ``event``, ``run_id`` and
``time`` (Unix seconds, UTC).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from corral.secrets import REDACTED, Secret, redact_text

EVENT_SCHEMA_VERSION = 1

Writer = Callable[[Mapping[str, Any]], None]
Observer = Callable[[Mapping[str, Any]], list[tuple[str, BaseException]]]


def _plain(value: Any) -> Any:
    """Make ``value`` JSON-ready; secrets become ``********``."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class EventBus:
    """Stamps, redacts and delivers events, one at a time (workers emit concurrently)."""

    def __init__(
        self, run_id: str, writers: list[Writer], observer: Observer | None = None
    ) -> None:
        self.run_id = run_id
        self.writers = writers
        self.observer = observer
        self.secrets: set[str] = set()
        self._lock = threading.Lock()
        self.warnings: list[str] = []

    def add_secret(self, value: str) -> None:
        """Redact ``value`` from every later event, also where JSON escaped it."""
        if value:
            self.secrets.add(value)
            self.secrets.add(json.dumps(value)[1:-1])

    def emit(self, kind: str, **fields: Any) -> None:
        event: dict[str, Any] = {
            "v": EVENT_SCHEMA_VERSION,
            "event": kind,
            "run_id": self.run_id,
            "time": round(time.time(), 6),
        }
        event.update(_plain(fields))
        if self.secrets:
            event = json.loads(redact_text(json.dumps(event), tuple(self.secrets)))
        with self._lock:
            # Plugins first: a warning about one of them is written before the event
            # itself, so the recap stays the last line of the output.
            if self.observer is not None:
                for plugin, exc in self.observer(event):
                    self._warn_locked(
                        f"plugin {plugin!r} failed on event {kind!r}: {type(exc).__name__}: {exc}"
                    )
            for writer in self.writers:
                writer(event)

    def flush(self) -> None:
        """Ask every writer that buffers (the run store) to commit what it has."""
        for writer in self.writers:
            flush = getattr(writer, "flush", None)
            if flush is not None:
                flush()

    def warn(self, message: str) -> None:
        with self._lock:
            self._warn_locked(message)

    def _warn_locked(self, message: str) -> None:
        if message in self.warnings:
            return
        self.warnings.append(message)
        event = {
            "v": EVENT_SCHEMA_VERSION,
            "event": "warning",
            "run_id": self.run_id,
            "time": round(time.time(), 6),
            "message": message,
        }
        for writer in self.writers:
            writer(event)

"""Where a worker writes down the units it finished: the result backend (Redis), sealed.

A worker killed in the middle of a shard loses its message to another worker (acks
late); that one reads here the units the first had finished and does not run them again
(corral.engine.shard_run.Journal). Entries are written by a thread of their own, in
pipelined batches, so that no unit waits for Redis: a unit is written down within
milliseconds of its end, and kept as long as results are. A broker restart is waited
out (corral_plugins.celery.outage): what was written survives it (an append-only file)
and what is written meanwhile is written once Redis is back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

from corral_plugins.celery.crypto import seal_bytes, unseal_bytes
from corral_plugins.celery.outage import BROKER_WAIT, patiently

__all__ = ["BackendJournal"]

_STOP = object()
BATCH = 500  # entries per pipeline


class BackendJournal:
    """The journal of one shard, in the Celery app's Redis result backend."""

    def __init__(self, backend: Any, key: bytes, wait: float = BROKER_WAIT) -> None:
        self.client = backend.client  # redis-py: the backend's own connection pool
        self.expires = int(backend.expires or 3600)
        self.key = key
        self.wait = wait  # seconds to wait for a result backend that went away
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @staticmethod
    def _name(run_id: str, unit_id: str) -> str:
        return f"corral-unit-{run_id}-{unit_id}"

    def finished(self, run_id: str, unit_ids: Sequence[str]) -> dict[str, bytes]:
        names = [self._name(run_id, u) for u in unit_ids]
        found = patiently(lambda: self.client.mget(names), self.wait)
        return {
            unit: unseal_bytes(value.decode() if isinstance(value, bytes) else value, self.key)
            for unit, value in zip(unit_ids, found, strict=True)
            if value is not None
        }

    def record(self, run_id: str, unit_id: str, data: bytes) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._write, name="corral-journal", daemon=True)
            self._thread.start()
        self._queue.put((self._name(run_id, unit_id), data))

    def close(self) -> None:
        """Write what is still queued. A failure to write is logged, not raised: the shard
        did its work; only a redelivery after a crash would run its units again."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            logging.getLogger("corral.celery").warning(
                "could not write finished units down: %s", self._error
            )

    def _write(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is _STOP:
                stopping = True
                batch.pop()
            if not batch or self._error is not None:
                continue
            try:
                sealed = [(name, seal_bytes(data, self.key)) for name, data in batch]
                patiently(partial(self._put, sealed), self.wait)
            except Exception as exc:  # the shard goes on; a redelivery may then redo units
                self._error = exc

    def _put(self, sealed: Sequence[tuple[str, str]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name, value in sealed:
            pipe.setex(name, self.expires, value)
        pipe.execute()

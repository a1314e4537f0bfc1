"""A worker's connections, kept from one shard of a run to the next.

A run's rounds reach the same hosts again and again: a worker that opened an SSH
connection for one shard keeps it for the run's next shards that land on it, as
``corral run`` keeps one connection per host for the whole run. A worker cannot tell
when a run is over, so connections no shard used for :data:`IDLE` seconds are closed
when the next shard starts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from corral.connection import Connection

__all__ = ["IDLE", "KeptConnections", "kept_for"]

IDLE = 60.0


@dataclass
class KeptConnections:
    """What a run's :class:`~corral.engine.context.RunContext` keeps of its connections."""

    connections: dict[str, Connection] = field(default_factory=dict)
    opened: set[str] = field(default_factory=set)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    as_users: dict[str, set[str]] = field(default_factory=dict)
    cooperative: set[type] = field(default_factory=set)
    used: float = field(default_factory=time.monotonic)

    def context_fields(self) -> dict[str, Any]:
        """The RunContext fields that make a shard's run use these connections."""
        return {
            "_connections": self.connections,
            "_opened": self.opened,
            "_conn_locks": self.locks,
            "_as_users": self.as_users,
            "_cooperative_classes": self.cooperative,
        }


_KEPT: dict[str, KeptConnections] = {}
_LOCK = threading.Lock()


def kept_for(run_id: str) -> KeptConnections:
    """The connections this process keeps for ``run_id``; closes runs idle too long."""
    now = time.monotonic()
    with _LOCK:
        idle = [k for k, kept in _KEPT.items() if k != run_id and now - kept.used > IDLE]
        stale = [_KEPT.pop(k) for k in idle]
        kept = _KEPT.setdefault(run_id, KeptConnections())
        kept.used = now
    for old in stale:
        for conn in old.connections.values():
            with contextlib.suppress(Exception):  # a host gone meanwhile: nothing to release
                conn.close()
    return kept

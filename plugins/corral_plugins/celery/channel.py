"""The two ways between a server and the worker running one of its runs, in Redis.

*Up* is a list the worker appends sealed messages to and the server takes in order,
each moved to a *taken* list until the server has applied it (:meth:`RunChannel.ack`),
so that a server killed in between finds it there when it starts again; *down* is one
key holding the latest sealed state the server wants the worker to apply
(corral.store.mirror says what both mean). Both live in the Celery app's Redis
result backend, under the run's id, and expire with results: nothing is left behind by
a run whose server or worker went away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.celery.crypto import seal, unseal

__all__ = ["RunChannel"]


class RunChannel:
    """Run ``run_id``'s up list and down key in ``client`` (redis-py), sealed with ``key``."""

    def __init__(self, client: Any, key: bytes, run_id: str, *, expires: int = 3600) -> None:
        self.client = client
        self.key = key
        self.expires = expires
        self.up_name = f"corral-run-{run_id}-up"
        self.taken_name = f"corral-run-{run_id}-taken"
        self.down_name = f"corral-run-{run_id}-down"

    def up(self, message: Mapping[str, Any]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(self.up_name, seal(dict(message), self.key))
        pipe.expire(self.up_name, self.expires)
        pipe.execute()

    def take(self, timeout: float) -> Mapping[str, Any] | None:
        """The next message up, waiting up to ``timeout`` seconds (None if none came);
        kept aside until :meth:`ack`."""
        found = self.client.blmove(self.up_name, self.taken_name, timeout, "LEFT", "RIGHT")
        if found is None:
            return None
        self.client.expire(self.taken_name, self.expires)
        message: Mapping[str, Any] = unseal(_text(found), self.key)
        return message

    def ack(self) -> None:
        """The message :meth:`take` gave is applied: let it go."""
        self.client.lpop(self.taken_name)

    def taken(self) -> list[Mapping[str, Any]]:
        """Messages taken and never acknowledged (by a server that died meanwhile)."""
        return [
            unseal(_text(found), self.key) for found in self.client.lrange(self.taken_name, 0, -1)
        ]

    def send_down(self, state: Mapping[str, Any]) -> None:
        self.client.set(self.down_name, seal(dict(state), self.key), ex=self.expires)

    def down(self) -> Mapping[str, Any] | None:
        found = self.client.get(self.down_name)
        if found is None:
            return None
        state: Mapping[str, Any] = unseal(_text(found), self.key)
        return state

    def forget(self) -> None:
        self.client.delete(self.up_name, self.taken_name, self.down_name)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

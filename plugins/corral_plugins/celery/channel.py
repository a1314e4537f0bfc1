"""The two ways between a server and the worker running one of its runs, in Redis.

*Up* is a list the worker appends sealed messages to and the server pops in order;
*down* is one key holding the latest sealed state the server wants the worker to
apply (corral.store.mirror says what both mean). Both live in the Celery app's Redis
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
        self.down_name = f"corral-run-{run_id}-down"

    def up(self, message: Mapping[str, Any]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(self.up_name, seal(dict(message), self.key))
        pipe.expire(self.up_name, self.expires)
        pipe.execute()

    def take(self, timeout: float) -> Mapping[str, Any] | None:
        """The next message up, waiting up to ``timeout`` seconds (None if none came)."""
        found = self.client.blpop([self.up_name], timeout=timeout)
        if found is None:
            return None
        message: Mapping[str, Any] = unseal(_text(found[1]), self.key)
        return message

    def send_down(self, state: Mapping[str, Any]) -> None:
        self.client.set(self.down_name, seal(dict(state), self.key), ex=self.expires)

    def down(self) -> Mapping[str, Any] | None:
        found = self.client.get(self.down_name)
        if found is None:
            return None
        state: Mapping[str, Any] = unseal(_text(found), self.key)
        return state

    def forget(self) -> None:
        self.client.delete(self.up_name, self.down_name)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

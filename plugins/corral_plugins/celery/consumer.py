"""The worker's broker consumer, surviving a Redis restart while it holds a shard.

When the connection to the broker breaks, Celery (5.7) first collects the broken
connection, which drops its transport's reference to the connection settings, and then
closes it. Closing, and later acknowledging the message of a shard that was running
(acks late), go through that transport's channel, which builds a new Redis connection
from those settings: without them it raises ``AttributeError``, which Celery takes for
an unrecoverable error, and the worker exits (its shard then waits for the visibility
timeout). Here the transport keeps its settings: the close and the acknowledgement
reach Redis once it is back, or fail with a connection error that Celery logs and
survives; the shard runs on in its pool process, its answer reaches the coordinator
through the result backend, and the consumer reconnects.
"""

from __future__ import annotations

from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

__all__ = ["Consumer"]


class Consumer(CeleryConsumer):  # type: ignore[misc]  # celery has no type information
    """Celery's consumer, whose lost connection keeps what its channels need to reconnect."""

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        connection = self.connection
        if connection is None:
            super().on_connection_error_after_connected(exc)
            return
        transport = connection.transport
        settings = transport.client
        close = connection.close

        def close_collected() -> Any:
            transport.client = settings  # collect() dropped it
            return close()

        connection.close = close_collected  # what the reconnection calls after collect()
        try:
            super().on_connection_error_after_connected(exc)
        finally:
            transport.client = settings  # for the acknowledgements still to come

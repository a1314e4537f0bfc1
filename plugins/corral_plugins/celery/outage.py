"""Riding out a broker restart: calls to the broker or the result backend that wait for it.

A broker that restarts (Redis with its append-only file, RabbitMQ) is gone for a few
seconds and comes back with its queues and results. Celery's workers reconnect by
themselves; the coordinator's result polls and a worker's journal writes would fail at
the first refused connection instead. :func:`patiently` retries such a call until the
broker answers again, for at most ``CORRAL_BROKER_WAIT`` seconds (default 120), and only
then lets the error through: a broker that is down for good still ends the run with a
one-line error, not a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import TypeVar

__all__ = ["BROKER_WAIT", "broker_errors", "broker_wait", "patiently"]

T = TypeVar("T")

BROKER_WAIT = 120.0  # seconds a caller waits for a broker that went away
RETRY_EVERY = 0.25


@cache  # asked at every result poll
def broker_errors() -> tuple[type[BaseException], ...]:
    """What a broker or result backend that is down raises (kombu, redis-py, sockets)."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)


def broker_wait(environ: Mapping[str, str]) -> float:
    """``CORRAL_BROKER_WAIT``: seconds to wait for the broker; the default if unset or bad."""
    value = environ.get("CORRAL_BROKER_WAIT", "")
    try:
        seconds = float(value)
    except ValueError:
        return BROKER_WAIT
    return seconds if seconds >= 0 else BROKER_WAIT


def patiently(
    call: Callable[[], T], wait: float, on_outage: Callable[[BaseException], None] | None = None
) -> T:
    """``call()``, retried while the broker is unreachable, for at most ``wait`` seconds.

    ``on_outage`` hears about the first failure (to warn once); the last error is raised
    when the broker is still away after ``wait`` seconds.
    """
    errors = broker_errors()
    deadline: float | None = None
    while True:
        try:
            return call()
        except errors as exc:
            now = time.monotonic()
            if deadline is None:
                deadline = now + wait
                if on_outage is not None:
                    on_outage(exc)
            if now >= deadline:
                raise
        time.sleep(RETRY_EVERY)

"""Which workers are alive on a broker: a bounded broker check, then a ping broadcast.

Every step has a deadline, so ``corral workers`` answers within about its timeout
whether the broker is down, no worker is running, or many are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from corral.errors import HostUnreachable
from corral_plugins.celery.outage import broker_errors
from corral_plugins.celery.settings import BrokerSettings, redacted_url

__all__ = ["LiveWorker", "check_broker", "live_workers"]


@dataclass(frozen=True)
class LiveWorker:
    """A worker that answered: its name, the queues it consumes, its running tasks."""

    name: str
    queues: tuple[str, ...]
    active: int

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "queues": list(self.queues)}


def _unreachable(settings: BrokerSettings, exc: BaseException) -> HostUnreachable:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return HostUnreachable(
        f"broker {redacted_url(settings.broker_url)} is not reachable: {reason}",
        hint="start the broker, or check --broker / CORRAL_BROKER_URL",
    )


def check_broker(app: Any, settings: BrokerSettings, timeout: float) -> None:
    """Connect once to the broker, within ``timeout`` s; HostUnreachable (exit 3) if not."""
    connection = app.connection_for_write(connect_timeout=timeout)
    try:
        connection.ensure_connection(
            max_retries=0, interval_start=0, interval_step=0, timeout=timeout
        )
    except broker_errors() as exc:
        raise _unreachable(settings, exc) from None
    finally:
        connection.release()


def live_workers(app: Any, settings: BrokerSettings, timeout: float) -> list[LiveWorker]:
    """The workers that answer a ping within ``timeout`` s, by name; HostUnreachable if none."""
    check_broker(app, settings, timeout)
    try:
        names = sorted(app.control.inspect(timeout=timeout).ping() or {})
        if not names:
            raise HostUnreachable(
                f"no worker answered within {timeout:g} s on {redacted_url(settings.broker_url)}",
                hint="start one with 'corral worker' on the same broker, or raise --timeout",
            )
        # Only the workers that answered, and no longer than it takes them all to answer.
        detail = app.control.inspect(destination=names, timeout=timeout, limit=len(names))
        queues = detail.active_queues() or {}
        active = detail.active() or {}
    except broker_errors() as exc:
        raise _unreachable(settings, exc) from None
    return [
        LiveWorker(
            name=name,
            queues=tuple(q.get("name", "?") for q in queues.get(name, [])),
            active=len(active.get(name, [])),
        )
        for name in names
    ]

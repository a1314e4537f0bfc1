"""Retry policies: how often a unit is tried again, and how long to wait in between.

``retry: {attempts: 5, delay: 1s, backoff: exponential, max_delay: 30s, jitter: 0.2,
on: [failed, timeout]}`` on a task. Ansible's ``until``/``retries``/``delay`` map onto
the same policy (fixed backoff, ``retries + 1`` attempts); with ``until`` the
condition decides success, otherwise the unit's own outcome does.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from corral.errors import PlaybookError

REASONS = ("failed", "unreachable", "timeout")


def parse_duration(value: Any) -> float | None:
    """``30``, ``1.5``, ``"30s"``, ``"500ms"``, ``"5m"``, ``"1h"``, ``"1d"`` as seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip():
            number = text[: -len(suffix)].strip()
            break
    else:
        number, suffix = text, "s"
    try:
        return float(number) * units[suffix]
    except ValueError:
        raise PlaybookError(
            f"invalid duration {value!r}", hint="use a number of seconds or 500ms, 30s, 5m, 1h, 1d"
        ) from None


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a unit gets and the wait before each new one."""

    attempts: int = 1
    delay: float = 0.0
    backoff: str = "fixed"  # fixed | linear | exponential
    max_delay: float | None = None
    jitter: float = 0.0  # a fraction: 0.2 spreads each wait over +-20%
    on: tuple[str, ...] = REASONS

    def wait_before(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        wait: float
        if self.backoff == "exponential":
            wait = self.delay * float(2 ** (attempt - 1))
        elif self.backoff == "linear":
            wait = self.delay * attempt
        else:
            wait = self.delay
        if self.max_delay is not None:
            wait = min(wait, self.max_delay)
        if self.jitter:
            wait *= 1 + self.jitter * (2 * rand() - 1)
        return max(0.0, wait)

    def retries_on(self, reason: str | None) -> bool:
        return reason is not None and reason in self.on


def policy_for(
    retry: Mapping[str, Any] | None,
    *,
    until: bool,
    retries: Any,
    delay: Any,
    render: Callable[[Any], Any],
) -> RetryPolicy:
    """The policy a task asks for; a task with neither ``retry`` nor ``until`` runs once."""
    if retry:
        jitter = render(retry.get("jitter", 0))
        return RetryPolicy(
            attempts=int(render(retry.get("attempts", 3))),
            delay=parse_duration(render(retry.get("delay", 1))) or 0.0,
            backoff=str(retry.get("backoff", "fixed")),
            max_delay=parse_duration(render(retry.get("max_delay"))),
            jitter=0.25 if jitter is True else float(jitter or 0),
            on=tuple(retry.get("on", REASONS)),
        )
    if until:
        count = int(render(retries)) if retries is not None else 3
        wait = parse_duration(render(delay)) if delay is not None else 5.0
        return RetryPolicy(attempts=count + 1, delay=wait or 0.0)
    return RetryPolicy()

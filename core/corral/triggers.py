"""Trigger types: what starts a run without a person typing ``corral run``.

A trigger plugin registers a :class:`TriggerType`. A play declares triggers under
``triggers:`` (``- cron: {schedule: "30 2 * * *"}``); loading the playbook checks each
entry's arguments against the type's ``schema`` and its ``validate``. The server calls
``trigger.watch(ctx, args)`` in a thread of its own for every entry of every served
playbook; the function blocks, calls ``ctx.fire(payload)`` each time the playbook
should run, and returns once ``ctx.stopping`` is set.

A trigger that waits for HTTP deliveries (``webhook``) has a ``receiver`` instead: the
server calls ``receiver(args)`` once per entry when it arms it, and hands each request
to the path the entry declares to what that returned, which answers with a
:class:`HookAnswer`. The server then dedupes by the answer's ``delivery``, checks the
params against the playbook's, records the fire and queues the run.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "HookAnswer",
    "HookRequest",
    "Receiver",
    "TriggerContext",
    "TriggerType",
    "trigger_key",
]


@dataclass
class TriggerContext:
    """What a watching trigger gets: a way to start a run, and a stop signal."""

    playbook: str
    fire: Callable[[Mapping[str, Any]], None]
    stopping: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = print
    # The server's environment (where the run store is, CORRAL_HOME); None: the process's.
    environ: Mapping[str, str] | None = None
    # When this entry last fired, from the server's store (None: never, or no server):
    # schedules catch up on what they missed from there. A payload's ``scheduled`` key
    # names the fire time, so a time fired twice (a restart) queues one run.
    last_fire: datetime | None = None


@dataclass(frozen=True)
class HookRequest:
    """One HTTP delivery to a trigger's path, as the server received it."""

    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    received: float  # time.time()
    client: str = ""


@dataclass(frozen=True)
class HookAnswer:
    """A trigger's verdict on a delivery: ``status`` 202 accepts it, anything else refuses.

    An accepted delivery carries the run's ``params`` (checked by the server against
    the playbook's) and its ``delivery`` id, unique per trigger, for deduplication.
    """

    status: int
    reason: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    delivery: str | None = None
    payload: Any = None  # the decoded body, for the fire record and the run's params
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Retry-After on 429


Receiver = Callable[[HookRequest], HookAnswer]


@dataclass(frozen=True)
class TriggerType:
    """A kind of trigger (``cron``, ``webhook``, ``filechange``) and its argument schema."""

    name: str
    watch: Callable[[TriggerContext, Mapping[str, Any]], None]
    schema: Mapping[str, Any]
    description: str = ""
    # Checks what the schema cannot (a cron expression, a time zone): raises ValueError
    # with a message naming the argument. Called when a playbook is loaded.
    validate: Callable[[Mapping[str, Any]], None] | None = None
    # For schedules: the first fire time after ``now`` (aware, in the trigger's own zone)
    # of the entry ``args`` in ``playbook``; None for triggers that wait for an event.
    next_fire: Callable[[Mapping[str, Any], str, datetime], datetime | None] | None = None
    # For triggers served over HTTP: the entry's path (``/hooks/deploy``) and, given the
    # entry's arguments, the callable that judges each delivery (it may keep state: a
    # rate limit). A trigger has ``watch`` or ``receiver``; ``watch`` may be a no-op then.
    path: Callable[[Mapping[str, Any]], str] | None = None
    receiver: Callable[[Mapping[str, Any]], Receiver] | None = None
    # Arguments holding templates the trigger renders itself, per event (the webhook's
    # ``params``, over each delivery's payload): loading checks them as written, and
    # arming must pass them on unrendered.
    templates: tuple[str, ...] = ()
    plugin: str = field(default="", compare=False)


def trigger_key(kind: str, args: Mapping[str, Any]) -> str:
    """A trigger entry's name in the store: its kind and a digest of its arguments.

    Stable across restarts and edits elsewhere in the playbook; changing the entry's
    arguments makes it a new trigger (with no fire history to catch up on).
    """
    text = json.dumps(args, sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"

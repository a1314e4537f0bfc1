"""Trigger types: what starts a run without a person typing ``corral run``.

A trigger plugin registers a :class:`TriggerType`. A play declares triggers under
``triggers:`` (``- cron: {schedule: "30 2 * * *"}``); loading the playbook checks each
entry's arguments against the type's ``schema`` and its ``validate``. The server calls
``trigger.watch(ctx, args)`` in a thread of its own for every entry of every served
playbook; the function blocks, calls ``ctx.fire(payload)`` each time the playbook
should run, and returns once ``ctx.stopping`` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["TriggerContext", "TriggerType"]


@dataclass
class TriggerContext:
    """What a watching trigger gets: a way to start a run, and a stop signal."""

    playbook: str
    fire: Callable[[Mapping[str, Any]], None]
    stopping: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = print
    # The server's environment (where the run store is, CORRAL_HOME); None: the process's.
    environ: Mapping[str, str] | None = None


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
    plugin: str = field(default="", compare=False)

"""Trigger types: what starts a run without a person typing ``corral run``.

A trigger plugin registers a :class:`TriggerType`. ``corral serve`` calls
``trigger.watch(ctx, args)`` in a thread of its own for every ``triggers:`` entry
of every served playbook; the function blocks, calls ``ctx.fire(payload)`` each
time the playbook should run, and returns once ``ctx.stopping`` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TriggerContext", "TriggerType"]


@dataclass
class TriggerContext:
    """What a watching trigger gets: a way to start a run, and a stop signal."""

    playbook: str
    fire: Callable[[Mapping[str, Any]], None]
    stopping: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class TriggerType:
    """A kind of trigger (``cron``, ``webhook``, ``filechange``) and its argument schema."""

    name: str
    watch: Callable[[TriggerContext, Mapping[str, Any]], None]
    schema: Mapping[str, Any]
    description: str = ""
    plugin: str = field(default="", compare=False)

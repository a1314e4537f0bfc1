"""``throttle``: at most N hosts run a task at the same time, whatever ``forks`` allows.

One semaphore per task of the play, made the first time a host reaches the task;
the linear and the free strategies both take a slot around each host's unit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from corral.errors import PlaybookError
from corral.playbook.model import Task


class Throttles:
    """The slots of a play's throttled tasks, shared by its worker threads."""

    def __init__(self, render: Callable[[Any], Any]) -> None:
        self._render = render  # renders a throttle value in the play's scope
        self._slots: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, task: Task) -> Iterator[None]:
        """Hold one of the task's slots while the body runs; no limit without ``throttle``."""
        if task.throttle is None:
            yield
            return
        with self._lock:
            semaphore = self._slots.get(task.uid)
            if semaphore is None:
                semaphore = self._slots[task.uid] = threading.Semaphore(self._limit(task))
        with semaphore:
            yield

    def _limit(self, task: Task) -> int:
        value = self._render(task.throttle)
        try:
            limit = int(value)
        except (TypeError, ValueError):
            limit = -1
        if limit < 0 or isinstance(value, bool):
            raise PlaybookError(
                f"throttle must be a whole number of hosts, got {value!r}",
                hint="0 means no limit",
                location=task.location,
            )
        return limit or 1_000_000  # Ansible: throttle 0 is no limit

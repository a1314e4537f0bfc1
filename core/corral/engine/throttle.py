"""``throttle``: at most N hosts run a task at the same time, whatever ``forks`` allows.

One semaphore per task of the play, made the first time a host reaches the task;
the linear and the free strategies both take a slot around each host's unit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from corral.errors import PlaybookError
from corral.playbook.model import Task


class Throttles:
    """The slots of a play's throttled tasks, shared by its worker threads."""

    def __init__(self, render: Callable[[Any], Any]) -> None:
        self._render = render  # renders a throttle value in the play's scope
        self._slots: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    def slot(self, task: Task) -> AbstractContextManager[Any]:
        """One of the task's slots, to hold while its unit runs; no limit without ``throttle``.

        A plain context manager, not a generator: every unit of every task goes through here.
        """
        if task.throttle is None:
            return _NO_LIMIT
        with self._lock:
            semaphore = self._slots.get(task.uid)
            if semaphore is None:
                semaphore = self._slots[task.uid] = threading.Semaphore(self._limit(task))
        return semaphore

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


_NO_LIMIT = nullcontext()

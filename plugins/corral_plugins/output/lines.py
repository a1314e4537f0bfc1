"""Output lines kept back and written together, for the writers the event bus drives."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

MAX_KEPT = 256


class KeptLines:
    """Lines waiting for :meth:`write`, which sends them in one call and flushes.

    The event bus calls its writers' ``idle()`` whenever its queue runs dry; writing there,
    not per line, spares a system call per line (``PYTHONUNBUFFERED``, common in containers
    and CI, makes every write one). At most :data:`MAX_KEPT` lines wait.
    """

    def __init__(self, stream: Callable[[], IO[str]]) -> None:
        self._stream = stream  # looked up at each write: sys.stdout may be swapped
        self._lines: list[str] = []

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= MAX_KEPT:
            self.write()

    def write(self) -> None:
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            stream = self._stream()
            stream.write(text)
            stream.flush()

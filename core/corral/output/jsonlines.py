"""``--output json``: one JSON object per event, one per line; the last line is the recap."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import IO, Any


class JsonLinesWriter:
    """Writes each event as a compact JSON line, flushed so that consumers can stream.

    ``buffered``: lines wait for :meth:`idle` (the event bus calls it whenever its queue
    runs dry, so a consumer still sees each event as soon as the run pauses) and go out in
    one write, at most 256 at a time.
    """

    def __init__(self, stream: IO[str] | None = None, *, buffered: bool = False) -> None:
        self.stream = stream
        self.buffered = buffered
        self._pending: list[str] = []

    def __call__(self, event: Mapping[str, Any]) -> None:
        self._pending.append(_DUMPS(event))
        if not self.buffered or len(self._pending) >= _MAX_PENDING:
            self.idle()

    def idle(self) -> None:
        """Write and flush the lines kept back."""
        if self._pending:
            text = "\n".join(self._pending) + "\n"
            self._pending.clear()
            stream = self.stream or sys.stdout
            stream.write(text)
            stream.flush()


_DUMPS = json.JSONEncoder(separators=(",", ":"), default=str).encode
_MAX_PENDING = 256

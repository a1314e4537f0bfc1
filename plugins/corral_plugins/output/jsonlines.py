"""``--output json``: one JSON object per event, one per line; the last line is the recap."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import IO, Any

from corral_plugins.output.lines import KeptLines


class JsonLinesWriter:
    """Writes each event as a compact JSON line, flushed so that consumers can stream.

    ``buffered``: lines wait for :meth:`idle` (the event bus calls it whenever its queue
    runs dry, so a consumer still sees each event as soon as the run pauses) and go out in
    one write, at most 256 at a time.
    """

    def __init__(self, stream: IO[str] | None = None, *, buffered: bool = False) -> None:
        self.stream = stream
        self.buffered = buffered
        self._kept = KeptLines(lambda: self.stream or sys.stdout)

    def __call__(self, event: Mapping[str, Any]) -> None:
        self._kept.add(_DUMPS(event))
        if not self.buffered:
            self._kept.write()

    def idle(self) -> None:
        """Write and flush the lines kept back."""
        self._kept.write()


_DUMPS = json.JSONEncoder(separators=(",", ":"), default=str).encode

"""``--output json``: one JSON object per event, one per line; the last line is the recap."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import IO, Any


class JsonLinesWriter:
    """Writes each event as a compact JSON line and flushes, so consumers can stream."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def __call__(self, event: Mapping[str, Any]) -> None:
        stream = self.stream or sys.stdout
        stream.write(json.dumps(event, separators=(",", ":"), default=str) + "\n")
        stream.flush()

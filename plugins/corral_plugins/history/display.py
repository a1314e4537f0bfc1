"""How the store's commands and reports show times, durations and recorded command lines."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from corral.secrets import REDACTED, redact_command_line

__all__ = ["format_duration", "format_time", "shown_run"]


def shown_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """A run record as ``show`` and ``report`` display it: no secret in its command line.

    The store records command lines with secrets redacted; a run recorded before
    that was so still names its secret params and extra vars (stored as
    ``********``), and what ``-p``/``-e`` gave them is hidden here.
    """
    names = [
        name
        for column in ("params", "extra_vars")
        for name, value in (run.get(column) or {}).items()
        if value == REDACTED
    ]
    shown = dict(run)
    if names and run.get("argv"):
        shown["argv"] = redact_command_line(run["argv"], names)
    return shown


def format_time(seconds: float | None) -> str:
    """Local time, to the second: ``2026-11-24 09:27:12``; ``-`` for none."""
    if seconds is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def format_duration(seconds: float | None) -> str:
    """``0.412s``, ``12.3s``, ``3m05s``, ``1h02m``; ``-`` for none."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds:.3f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"

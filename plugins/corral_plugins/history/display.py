"""How the store's commands and reports show times and durations."""

from __future__ import annotations

import time

__all__ = ["format_duration", "format_time"]


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

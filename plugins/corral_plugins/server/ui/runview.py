"""What a run's page shows, read from the store: the live view's grid, progress and log
tail while it runs, the finished view's timeline, results, diffs, rollbacks and approvals.

The finished view reuses ``corral report``'s pieces (``history/html.py``:
``report_data`` and the SVG ``timeline_svg``) rather than drawing its own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store
    from corral_plugins.server.daemon import Server

__all__ = ["GRID_HOSTS", "LOG_TAIL", "run_view"]

LIVE = ("queued", "running")
JSON_COLUMNS = ("argv", "params", "extra_vars", "options")  # of a runs row
GRID_HOSTS = 30  # up to this many hosts a hosts x tasks grid; past it, per-host progress
GRID_TASKS = 40
HOST_ROWS = 200  # per-host rows shown (failing hosts first)
LOG_TAIL = 40  # lines of the live log tail
DIFF_TEXT = 20_000  # characters of one diff shown

_GRID_UNITS = """
    SELECT task_uid, task, host, status FROM units
    WHERE run_id = ? AND item_index IS NULL ORDER BY event_seq
"""
_TASK_STARTS = """
    SELECT data FROM events WHERE run_id = ? AND kind IN ('task_start', 'handler_start')
    ORDER BY seq
"""
_TAIL_EVENTS = "SELECT seq, data FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT ?"
_TAIL_UNITS = """
    SELECT event_seq, host, task, status, item_index FROM units
    WHERE run_id = ? ORDER BY event_seq DESC LIMIT ?
"""
_DIFFS = """
    SELECT host, task, task_uid, json_extract(data, '$.result.diff') FROM units
    WHERE run_id = ? AND changed = 1 AND json_extract(data, '$.result.diff') IS NOT NULL
    ORDER BY event_seq LIMIT 200
"""
_ROLLBACKS = """
    SELECT time, kind, data FROM events
    WHERE run_id = ? AND kind IN ('rollback_start', 'rollback_end') ORDER BY seq
"""
_APPROVALS = """
    SELECT key, message, requested, status, decided_by, comment, decided FROM approvals
    WHERE run_id = ? ORDER BY id
"""


def run_view(server: Server, run_id: str) -> dict[str, Any]:
    """Everything the run's page shows; ``live`` says which of its two views."""
    from corral.store.queries import live_duration
    from corral_plugins.history.display import shown_run

    store = server.store()
    row = store.run_row(run_id) or {}
    decoded = {key: json.loads(row.get(key) or "null") for key in JSON_COLUMNS}
    run = shown_run({**row, **decoded})
    run["duration"] = live_duration(row)
    view: dict[str, Any] = {
        "run": run,
        "live": row.get("status") in LIVE,
        "approvals": _approvals(store, run_id),
    }
    if view["live"]:
        view.update(_live(store, row))
    else:
        view.update(_finished(store, run_id))
    return view


def _live(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    from corral.store.estimates import run_progress

    run_id = row["id"]
    # The grid's columns: each task as it starts (a task no host finished yet included).
    tasks: dict[str, str] = {}
    for (data,) in store.conn.execute(_TASK_STARTS, (run_id,)):
        start = json.loads(data)
        tasks.setdefault(str(start.get("uid", "")), str(start.get("task", "")))
    current_uid = list(tasks)[-1] if tasks else ""
    units = store.conn.execute(_GRID_UNITS, (run_id,)).fetchall()
    cells: dict[str, dict[str, str]] = {}
    for uid, task, host, status in units:
        tasks.setdefault(uid, task)
        cells.setdefault(host, {})[uid] = status
    grid = len(cells) <= GRID_HOSTS and len(tasks) <= GRID_TASKS
    return {
        "progress": run_progress(store, row),
        "current_task": tasks.get(current_uid, ""),
        "current_uid": current_uid,
        "grid": grid,
        "tasks": list(tasks.items()),
        "cells": dict(sorted(cells.items())),
        "hosts": [] if grid else _per_host(cells),
        "host_count": len(cells),
        "tail": _tail(store, run_id),
    }


def _per_host(cells: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Per-host progress: units done, failures, last status; failing hosts first."""
    hosts: list[dict[str, Any]] = []
    for host, done in cells.items():
        statuses = list(done.values())
        failed = sum(s in ("failed", "unreachable") for s in statuses)
        hosts.append({"host": host, "done": len(statuses), "failed": failed, "last": statuses[-1]})
    hosts.sort(key=lambda h: (-h["failed"], h["host"]))
    return hosts[:HOST_ROWS]


def _tail(store: Store, run_id: str) -> list[str]:
    """The last lines of the run's log, as ``corral logs`` names things (oldest first)."""
    lines: list[tuple[int, str]] = []
    for seq, data in store.conn.execute(_TAIL_EVENTS, (run_id, LOG_TAIL)):
        line = _event_line(json.loads(data))
        if line:
            lines.append((seq, line))
    for seq, host, task, status, item in store.conn.execute(_TAIL_UNITS, (run_id, LOG_TAIL)):
        suffix = f" (item {item})" if item is not None else ""
        lines.append((seq, f"{status}: [{host}] {task}{suffix}"))
    lines.sort()
    return [line for _, line in lines[-LOG_TAIL:]]


def _event_line(event: dict[str, Any]) -> str:
    kind = str(event.get("event", ""))
    if kind == "play_start":
        return f"PLAY [{event.get('play') or event.get('name', '')}]"
    if kind in ("task_start", "handler_start"):
        word = "HANDLER" if kind == "handler_start" else "TASK"
        return f"{word} [{event.get('task', '')}]"
    if kind in ("rollback_start", "rollback_end"):
        return f"{kind.upper().replace('_', ' ')} [{event.get('play', '')}]"
    if kind in ("recap", "play_end", "host_state", "run_start"):
        return ""
    if kind == "warning":
        return f"warning: {event.get('msg') or event.get('message', '')}"
    return kind


def _finished(store: Store, run_id: str) -> dict[str, Any]:
    from corral_plugins.history.html import STATUS_COLOURS, report_data, timeline_svg

    data = report_data(store, run_id)
    return {
        "report": data,
        "timeline": timeline_svg(data["units"]),
        "colours": list(STATUS_COLOURS),
        "diffs": _diffs(store, run_id),
        "rollbacks": _rollbacks(store, run_id),
    }


def _diffs(store: Store, run_id: str) -> list[dict[str, str]]:
    found = []
    for host, task, uid, diff in store.conn.execute(_DIFFS, (run_id,)):
        found.append({"host": host, "task": task, "uid": uid, "text": _diff_text(diff)})
    return found


def _diff_text(raw: Any) -> str:
    """A stored diff (before/after texts, a list of them, or a prepared text) as one text."""
    value = json.loads(raw) if isinstance(raw, str) and raw[:1] in "[{" else raw
    parts = value if isinstance(value, list) else [value]
    texts = []
    for part in parts:
        if isinstance(part, dict) and "prepared" in part:
            texts.append(str(part["prepared"]))
        elif isinstance(part, dict) and ("before" in part or "after" in part):
            texts.append(_unified(part))
        else:
            texts.append(
                json.dumps(part, indent=2, default=str) if not isinstance(part, str) else part
            )
    text = "\n".join(texts)
    return text if len(text) <= DIFF_TEXT else text[:DIFF_TEXT] + "\n… (cut)"


def _unified(part: dict[str, Any]) -> str:
    import difflib

    before, after = str(part.get("before", "")), str(part.get("after", ""))
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            str(part.get("before_header", "before")),
            str(part.get("after_header", "after")),
        )
    )


def _rollbacks(store: Store, run_id: str) -> list[dict[str, Any]]:
    found = []
    for when, kind, data in store.conn.execute(_ROLLBACKS, (run_id,)):
        event = json.loads(data)
        found.append(
            {
                "time": when,
                "what": "started" if kind == "rollback_start" else "ended",
                "play": event.get("play", ""),
                "hosts": ", ".join(event.get("hosts") or []),
                "reason": event.get("reason", ""),
            }
        )
    return found


def _approvals(store: Store, run_id: str) -> list[dict[str, Any]]:
    keys = ("key", "message", "requested", "status", "decided_by", "comment", "decided")
    rows = store.conn.execute(_APPROVALS, (run_id,)).fetchall()
    return [dict(zip(keys, row, strict=True)) for row in rows]

"""Reading the run store: history, one run's summary, its events, and fleet-wide stats.

Each function returns plain JSON-ready data, for any reader to render (the built-in
``history`` plugin prints it as tables or ``--json``). ``history`` and
``stats`` read only ``runs`` and the per-run roll-ups (``run_hosts``, ``run_tasks``),
never the unit rows, so they stay fast however many units the store holds.
"""

from __future__ import annotations

import fnmatch
import heapq
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = [
    "RECAP_KEYS",
    "all_events",
    "events_after",
    "filter_events",
    "history",
    "last_fire",
    "live_duration",
    "percentile",
    "recent_fires",
    "run_events",
    "run_recap",
    "run_summary",
    "stats",
]

RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
_JSON_COLUMNS = ("argv", "params", "extra_vars", "options")
_OUTPUT_TAIL = 20  # lines of stdout/stderr shown per failure

_HISTORY = """
    SELECT id, playbook, status, exit_code, started, ended, segment_started, duration,
        host_count, failed_hosts, started_by, trigger, resumes, check_mode
    FROM runs"""
# Ended runs by their roll-ups; running runs (no roll-ups yet) by their units so far.
_RUNS_ON_HOST = """id IN (
    SELECT run_id FROM run_hosts WHERE host = ?
    UNION ALL
    SELECT DISTINCT run_id FROM units
    WHERE host = ? AND run_id IN (SELECT id FROM runs WHERE status = 'running'))"""
_LIVE_HOST_COUNTS = """
    SELECT count(*), (SELECT count(DISTINCT host) FROM units
                      WHERE run_id = ? AND status IN ('failed', 'unreachable'))
    FROM run_hosts WHERE run_id = ?
"""
_LIVE_RECAP = """
    SELECT host, status, count(*) FROM units
    WHERE run_id = ? AND item_index IS NULL GROUP BY host, status
"""
_UNIT_COUNTS = """
    SELECT count(*), sum(status IN ('ok', 'changed')) FROM units
    WHERE run_id = ? AND item_index IS NULL
"""
_FAILURES = """
    SELECT unit_id, play, task, task_uid, action, host, item_index, status, attempts,
        started, ended, duration, data
    FROM units
    WHERE run_id = ? AND status IN ('failed', 'unreachable')
    ORDER BY event_seq
"""
_UNIT_EVENTS = """
    SELECT event_seq, kind, time, task, task_uid, action, unit_id, host, handler, item_index,
        status, started, ended, attempts, data
    FROM {table} WHERE run_id = ? AND event_seq > ?
    ORDER BY event_seq
"""
_SLOWEST_IN_RUN = """
    SELECT task_uid, max(play) AS play, max(task) AS task, max(action) AS action,
        count(*) AS hosts, round(max(duration), 3) AS max_duration,
        round(avg(duration), 3) AS mean_duration,
        (SELECT host FROM units v
         WHERE v.run_id = u.run_id AND v.task_uid = u.task_uid AND v.item_index IS NULL
         ORDER BY v.duration DESC LIMIT 1) AS slowest_host
    FROM units u
    WHERE run_id = ? AND item_index IS NULL AND duration IS NOT NULL
    GROUP BY task_uid ORDER BY max(duration) DESC LIMIT ?
"""
# The stats queries read the roll-ups alone: each has the run's playbook, status and
# start, so {condition} (on those three columns) needs no join with runs.
_SLOWEST_TASKS = """
    SELECT playbook, task_uid, max(task) AS task, max(action) AS action,
        count(*) AS runs, sum(units) AS units,
        round(sum(total_duration) / sum(units), 3) AS mean_duration,
        round(max(max_duration), 3) AS max_duration,
        round(sum(total_duration), 3) AS total_duration, sum(failures) AS failures
    FROM run_tasks
    WHERE {condition}
    GROUP BY playbook, task_uid ORDER BY mean_duration DESC LIMIT ?
"""
# Hosts with failures come from a partial index of the failing rows (few); only the
# candidates' run counts are then looked up, by host.
_FAILING_HOSTS = """
    WITH failing AS (
        SELECT host, sum(failed > 0) AS failed, sum(unreachable > 0) AS unreachable,
            count(*) AS failures
        FROM run_hosts INDEXED BY run_hosts_failing
        WHERE (failed > 0 OR unreachable > 0) AND {condition}
        GROUP BY host ORDER BY failures DESC, host LIMIT ?
    ), counted AS (
        SELECT f.*, (SELECT count(*) FROM run_hosts INDEXED BY run_hosts_host
                     WHERE host = f.host AND {condition}) AS runs
        FROM failing f
    )
    SELECT host, runs, failed, unreachable, round(1.0 * failures / runs, 3) AS failure_rate
    FROM counted ORDER BY failures DESC, failure_rate DESC, host LIMIT ?
"""
_RUN_DURATIONS = """
    SELECT playbook, status, duration FROM runs
    WHERE {condition} ORDER BY playbook, duration
"""


def _playbook_clause(pattern: str) -> tuple[str, list[Any]]:
    """Match a playbook by glob, exact path, or file name (``site.yml`` finds ``ops/site.yml``)."""
    if any(ch in pattern for ch in "*?["):
        return "playbook GLOB ?", [pattern]
    return "(playbook = ? OR playbook LIKE ? ESCAPE '\\')", [pattern, "%/" + _like_escape(pattern)]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def live_duration(row: Mapping[str, Any], now: float | None = None) -> float:
    """A run's active seconds; for a running run, up to now."""
    duration = float(row.get("duration") or 0.0)
    if row.get("status") == "running":
        now = time.time() if now is None else now
        duration += max(0.0, now - float(row.get("segment_started") or row["started"]))
    return duration


def history(
    store: Store,
    *,
    playbook: str | None = None,
    status: str | None = None,
    host: str | None = None,
    since: float | None = None,
    until: float | None = None,
    trigger: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The latest runs, newest first, matching every filter given; ``offset`` skips
    that many (paging); ``until`` is exclusive."""
    store.refresh_liveness()
    where: list[str] = []
    params: list[Any] = []
    if playbook:
        clause, values = _playbook_clause(playbook)
        where.append(clause)
        params.extend(values)
    if status:
        where.append("status = ?")
        params.append(status)
    if host:
        where.append(_RUNS_ON_HOST)
        params.extend((host, host))
    if since is not None:
        where.append("started >= ?")
        params.append(since)
    if until is not None:
        where.append("started < ?")
        params.append(until)
    if trigger:
        where.append("trigger = ?")
        params.append(trigger)
    sql = _HISTORY
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started DESC, id DESC LIMIT ? OFFSET ?"
    params.extend((limit, offset))
    now = time.time()
    rows = []
    for row in store.db.query(sql, params):
        row["duration"] = round(live_duration(row, now), 3)
        row.pop("segment_started")
        row["check_mode"] = bool(row["check_mode"])
        rows.append(row)
    _fill_live_host_counts(store, rows)
    return rows


def _fill_live_host_counts(store: Store, rows: list[dict[str, Any]]) -> None:
    """Host counts of running runs, whose roll-ups are written only when they end."""
    for row in rows:
        if row["host_count"] is None:
            counted = store.conn.execute(_LIVE_HOST_COUNTS, (row["id"], row["id"])).fetchone()
            row["host_count"], row["failed_hosts"] = counted


def run_recap(store: Store, run: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Per-host recap counts: the run's recap, or counted from its units while it runs."""
    columns = ", ".join(RECAP_KEYS)
    sql = f"SELECT host, {columns} FROM run_hosts WHERE run_id = ? ORDER BY host"  # noqa: S608
    rows = store.conn.execute(sql, (run["id"],)).fetchall()
    recap = {row[0]: dict(zip(RECAP_KEYS, row[1:], strict=True)) for row in rows}
    if run["status"] == "running":
        recap = {host: dict.fromkeys(RECAP_KEYS, 0) for host in recap}
        for host, status, count in store.conn.execute(_LIVE_RECAP, (run["id"],)):
            counts = recap.setdefault(host, dict.fromkeys(RECAP_KEYS, 0))
            if status in ("ok", "changed"):
                counts["ok"] += count
            if status in RECAP_KEYS and status != "ok":
                counts[status] += count
    return recap


def run_summary(store: Store, run_id: str, *, slowest: int = 5) -> dict[str, Any]:
    """What ``corral show`` prints: the run, its recap, failures with output, slowest tasks."""
    row = store.run_row(run_id)
    if row is None:
        raise KeyError(run_id)
    run = dict(row)
    for key in _JSON_COLUMNS:
        run[key] = json.loads(run[key] or "null")
    run["duration"] = round(live_duration(row), 3)
    run["check_mode"] = bool(run["check_mode"])
    counts = store.conn.execute(_UNIT_COUNTS, (run_id,)).fetchone()
    return {
        "run": run,
        "recap": run_recap(store, row),
        "units": {"finished": counts[0], "ok": counts[1] or 0},
        "failures": failures(store, run_id),
        "slowest_tasks": slowest_tasks(store, run_id, limit=slowest),
    }


def failures(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Units that failed or were unreachable, with their output; items rather than their loop."""
    rows = list(store.db.query(_FAILURES, [run_id]))
    with_items = {(r["task_uid"], r["host"]) for r in rows if r["item_index"] is not None}
    found = []
    for row in rows:
        if row["item_index"] is None and (row["task_uid"], row["host"]) in with_items:
            continue
        rest = json.loads(row.pop("data"))
        row["item"] = rest.get("item")
        row["output"] = failure_output(rest.get("result") or {})
        found.append(row)
    return found


def failure_output(result: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a failed result a person reads: message, return code, output tails."""
    output: dict[str, Any] = {}
    for key in ("msg", "rc"):
        if result.get(key) not in (None, ""):
            output[key] = result[key]
    for key in ("stderr", "stdout"):
        text = result.get(key)
        if isinstance(text, str) and text.strip():
            lines = text.rstrip("\n").splitlines()
            output[key] = "\n".join(lines[-_OUTPUT_TAIL:])
    if "censored" in result:
        output["msg"] = result["censored"]
    return output


def slowest_tasks(store: Store, run_id: str, *, limit: int = 5) -> list[dict[str, Any]]:
    """The run's tasks by their slowest host, slowest first."""
    return list(store.db.query(_SLOWEST_IN_RUN, [run_id, limit]))


def run_events(
    store: Store, run_id: str, *, host: str | None = None, task: str | None = None
) -> Iterator[dict[str, Any]]:
    """The run's events in order, narrowed to matching hosts and tasks (globs, any case)."""
    return filter_events(all_events(store, run_id), host=host, task=task)


def filter_events(
    events: Iterable[dict[str, Any]], *, host: str | None = None, task: str | None = None
) -> Iterator[dict[str, Any]]:
    """``events`` narrowed to matching hosts and tasks (globs, any case), lazily.

    A task's start event is kept only when one of its results is, so a filtered log
    has no empty task banners. ``events`` may be a live stream (``corral logs --follow``).
    """
    pending_start: dict[str, Any] | None = None
    for event in events:
        kind = event.get("event")
        if kind in ("task_start", "handler_start"):
            pending_start = event if _matches(event.get("task"), task) else None
            if pending_start is not None and host is None:
                yield pending_start
                pending_start = None
            continue
        if "host" in event and kind not in ("play_start", "play_end"):
            if not (
                _matches(event.get("host"), host)
                and _matches(event.get("task"), task, missing_ok=kind == "warning")
            ):
                continue
            if pending_start is not None and pending_start.get("uid") == event.get("uid"):
                yield pending_start
                pending_start = None
            yield event
        elif kind == "recap" and host is not None:
            hosts = {
                h: c for h, c in (event.get("hosts") or {}).items() if fnmatch.fnmatchcase(h, host)
            }
            yield {**event, "hosts": hosts}
        else:
            yield event


def all_events(store: Store, run_id: str) -> Iterator[dict[str, Any]]:
    """Every stored event of the run, in the order it was emitted (read as it is consumed)."""
    for _, event in heapq.merge(*_streams(store, run_id, -1), key=lambda pair: pair[0]):
        yield event


def events_after(store: Store, run_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
    """The run's stored events numbered above ``after``, as (seq, event), in emitted order.

    For a reader following a running run: read in one transaction, so a batch the
    writer commits meanwhile is seen whole or not at all (events and units alike).
    """
    store.conn.execute("BEGIN")
    try:
        streams = [list(stream) for stream in _streams(store, run_id, after)]
    finally:
        store.conn.execute("COMMIT")
    return list(heapq.merge(*streams, key=lambda pair: pair[0]))


def _streams(store: Store, run_id: str, after: int) -> list[Iterator[tuple[int, dict[str, Any]]]]:
    """The run's events above ``after``, one (seq, event) stream per table, each in order.

    Result events live in ``units`` (and ``unit_attempts``), the others in ``events``;
    their shared sequence number merges them back into one stream.
    """
    from corral.engine.events import EVENT_SCHEMA_VERSION

    others = (
        (seq, json.loads(data))
        for seq, data in store.conn.execute(
            "SELECT seq, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after),
        )
    )
    streams: list[Iterator[tuple[int, dict[str, Any]]]] = [others]
    for table in ("units", "unit_attempts"):
        cursor = store.conn.execute(_UNIT_EVENTS.format(table=table), (run_id, after))
        streams.append((row[0], _unit_event(row, run_id, EVENT_SCHEMA_VERSION)) for row in cursor)
    return streams


def _unit_event(row: Sequence[Any], run_id: str, version: int) -> dict[str, Any]:
    """A result event as emitted, from its ``units`` row."""
    (_, kind, when, task, uid, action, unit_id, host, handler, item_index) = row[:10]
    status, started, ended, attempts, data = row[10:]
    event: dict[str, Any] = {"v": version, "event": kind, "run_id": run_id, "time": when}
    event.update(host=host, task=task, action=action, uid=uid, unit_id=unit_id)
    if kind == "item_result":
        event["item_index"] = item_index
    else:
        event["handler"] = bool(handler)
    event.update(status=status, started=started, ended=ended, attempts=attempts)
    event.update(json.loads(data))
    return event


def _matches(value: Any, pattern: str | None, *, missing_ok: bool = False) -> bool:
    if pattern is None:
        return True
    if value is None:
        return missing_ok
    return fnmatch.fnmatchcase(str(value).lower(), pattern.lower())


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of sorted ``values`` (nearest rank), or None when empty."""
    if not values:
        return None
    rank = max(0, min(len(values) - 1, round(fraction * len(values) + 0.5) - 1))
    return values[rank]


def stats(
    store: Store, *, playbook: str | None = None, since: float | None = None, top: int = 10
) -> dict[str, Any]:
    """Per playbook: runs, success rate, mean/p50/p95 duration; slowest tasks; failing hosts.""" ""
    store.refresh_liveness()
    where = ["status != 'running'"]
    params: list[Any] = []
    if playbook:
        clause, values = _playbook_clause(playbook)
        where.append(clause)
        params.extend(values)
    if since is not None:
        where.append("started >= ?")
        params.append(since)
    condition = " AND ".join(where)
    return {
        "playbooks": _playbook_stats(store, condition, params),
        # The conditions are built from fixed SQL; only their values are parameters.
        "slowest_tasks": list(
            store.db.query(_SLOWEST_TASKS.format(condition=condition), [*params, top])
        ),
        "failing_hosts": list(
            store.db.query(
                _FAILING_HOSTS.format(condition=condition), [*params, top * 5, *params, top]
            )
        ),
    }


def _playbook_stats(store: Store, condition: str, params: list[Any]) -> list[dict[str, Any]]:
    durations: dict[str, list[float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for name, status, duration in store.conn.execute(
        _RUN_DURATIONS.format(condition=condition), params
    ):
        durations.setdefault(name, []).append(float(duration or 0.0))
        by_status = counts.setdefault(name, {})
        by_status[status] = by_status.get(status, 0) + 1
    rows: list[dict[str, Any]] = []
    for name, values in durations.items():
        by_status = counts[name]
        rows.append(
            {
                "playbook": name,
                "runs": len(values),
                "succeeded": by_status.get("succeeded", 0),
                "failed": by_status.get("failed", 0),
                "interrupted": by_status.get("interrupted", 0) + by_status.get("cancelled", 0),
                "success_rate": round(by_status.get("succeeded", 0) / len(values), 3),
                "mean_duration": round(sum(values) / len(values), 3),
                "p50_duration": round(percentile(values, 0.50) or 0.0, 3),
                "p95_duration": round(percentile(values, 0.95) or 0.0, 3),
            }
        )
    rows.sort(key=lambda r: (-r["runs"], r["playbook"]))
    return rows


def last_fire(store: Store, playbook: str, trigger: str) -> float | None:
    """When the trigger last fired (queued or skipped), or None."""
    row = store.conn.execute(
        "SELECT max(time) FROM fires WHERE playbook = ? AND trigger = ?", (playbook, trigger)
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def recent_fires(store: Store, playbook: str, trigger: str, limit: int = 5) -> list[dict[str, Any]]:
    """The trigger's latest fires, newest first: time, outcome, the run it queued."""
    return list(
        store.db.query(
            "SELECT time, outcome, run_id FROM fires WHERE playbook = ? AND trigger = ?"
            " ORDER BY time DESC LIMIT ?",
            [playbook, trigger, limit],
        )
    )

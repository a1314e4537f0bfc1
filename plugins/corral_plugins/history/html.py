"""``corral report``: one run as JSON, or as one self-contained HTML file.

The HTML report has no external assets (inline CSS, an inline SVG timeline, no
scripts), so it can be mailed, attached to a ticket or opened offline. The
timeline has a band per task (from its first host's start to its last host's end)
and a row per host with a bar per unit, coloured by status; hovering a bar shows
the task, host, status and duration.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["STATUS_COLOURS", "render_html", "report_data", "timeline_svg"]

STATUS_COLOURS = {
    "ok": "#2e9e4f",
    "changed": "#e0a100",
    "failed": "#d62f2f",
    "unreachable": "#7a1010",
    "skipped": "#9aa5b1",
    "ignored": "#5b8fd6",
}
MAX_HOST_ROWS = 300  # past this the timeline shows the first hosts and says so
_UNITS = """
    SELECT unit_id, play, task, task_uid, action, host, handler, status, changed, attempts,
        started, ended, duration
    FROM units WHERE run_id = ? AND item_index IS NULL AND started IS NOT NULL
    ORDER BY started, event_seq
"""


def report_data(store: Store, run_id: str) -> dict[str, Any]:
    """Everything in a report: the ``show`` summary plus every unit with its timing."""
    from corral.store.queries import run_summary
    from corral_plugins.history.display import shown_run

    summary = run_summary(store, run_id, slowest=10)
    summary["run"] = shown_run(summary["run"])
    units = list(store.db.query(_UNITS, [run_id]))
    for unit in units:
        unit["changed"] = bool(unit["changed"])
        unit["handler"] = bool(unit["handler"])
    return {"report_version": 1, **summary, "units": units}


@dataclass(frozen=True)
class _Row:
    label: str
    kind: str  # "task" or "host"
    bars: tuple[tuple[float, float, str, str], ...]  # start, end, colour, tooltip


def timeline_svg(units: Sequence[Mapping[str, Any]], *, width: int = 1100) -> str:
    """An SVG Gantt chart of ``units``: a band per task, then a row per host."""
    if not units:
        return '<p class="empty">No unit finished in this run.</p>'
    t0 = min(float(u["started"]) for u in units)
    t1 = max(float(u["ended"] or u["started"]) for u in units)
    span = max(t1 - t0, 1e-3)
    rows = _task_rows(units) + _host_rows(units)
    label_w, row_h, top = 220, 18, 28
    plot_w = width - label_w - 50  # room for the last axis label
    height = top + row_h * len(rows) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline of tasks and hosts">',
        '<g class="axis" font-size="11" fill="#555">',
    ]
    step = grid_step(span)
    for mark in range(int(span / step + 1e-9) + 1):
        x = label_w + plot_w * mark * step / span
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 6}" stroke="#e3e6ea"/>'
        )
        label = _tick(mark * step)
        parts.append(f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle">+{label}</text>')
    parts.append("</g>")
    for index, row in enumerate(rows):
        y = top + index * row_h
        if row.kind == "task" and index % 2 == 0:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f6f8fa"/>')
        weight = ' font-weight="600"' if row.kind == "task" else ""
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_h - 5}" text-anchor="end" font-size="12"{weight}>'
            f"{html.escape(_clip(row.label, 32))}</text>"
        )
        for start, end, colour, tip in row.bars:
            x = label_w + plot_w * (start - t0) / span
            w = max(plot_w * (end - start) / span, 1.5)
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" rx="2"'
                f' fill="{colour}">'
                f"<title>{html.escape(tip)}</title></rect>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _task_rows(units: Sequence[Mapping[str, Any]]) -> list[_Row]:
    spans: dict[str, list[Any]] = {}
    for unit in units:
        start, end = float(unit["started"]), float(unit["ended"] or unit["started"])
        entry = spans.setdefault(unit["task_uid"], [unit["task"], start, end, set()])
        entry[1], entry[2] = min(entry[1], start), max(entry[2], end)
        entry[3].add(unit["status"])
    rows = []
    for uid, (name, start, end, statuses) in spans.items():
        worst = next(
            (s for s in ("unreachable", "failed", "changed", "ok") if s in statuses), "skipped"
        )
        tip = f"task {name} ({uid}): {_seconds(end - start)} over all hosts"
        rows.append(
            _Row(label=f"▸ {name}", kind="task", bars=((start, end, STATUS_COLOURS[worst], tip),))
        )
    return rows


def _host_rows(units: Sequence[Mapping[str, Any]]) -> list[_Row]:
    bars: dict[str, list[tuple[float, float, str, str]]] = {}
    for unit in units:
        start, end = float(unit["started"]), float(unit["ended"] or unit["started"])
        colour = STATUS_COLOURS.get(unit["status"], "#888888")
        tip = f"{unit['host']} · {unit['task']}: {unit['status']}, {_seconds(end - start)}"
        bars.setdefault(unit["host"], []).append((start, end, colour, tip))
    rows = [_Row(label=host, kind="host", bars=tuple(b)) for host, b in bars.items()]
    if len(rows) > MAX_HOST_ROWS:
        hidden = len(rows) - MAX_HOST_ROWS
        rows = [*rows[:MAX_HOST_ROWS], _Row(label=f"… {hidden} more hosts", kind="host", bars=())]
    return rows


# Round steps past a minute: minutes and hours, not 100 s or 250 s.
_CLOCK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def grid_step(span: float, most: int = 6) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten; whole minutes and hours past
    a minute) that cuts ``span`` seconds into ``most`` parts or fewer."""
    target = span / most
    if target > 30:
        return next((s for s in _CLOCK_STEPS if s >= target), 86400 * math.ceil(target / 86400))
    power = 10.0 ** math.floor(math.log10(target))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= target * (1 - 1e-9))


def _tick(value: float) -> str:
    """An axis label: ``250ms``, ``1.25s``, ``5m``, ``2h``."""
    if value < 1:
        return f"{value * 1000:.4g}ms"
    if value < 120:
        return f"{value:.4g}s"
    if value < 3600:
        return f"{value / 60:.4g}m"
    return f"{value / 3600:.4g}h"


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 120:
        return f"{value:.1f}s"
    return f"{value / 60:.1f}m"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def render_html(data: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    import jinja2

    from corral_plugins.history.display import format_duration, format_time

    source = (
        resources.files("corral_plugins.history")
        .joinpath("report.html.j2")
        .read_text(encoding="utf-8")
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["when"] = format_time
    env.filters["duration"] = format_duration
    env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, default=str)
    template = env.from_string(source)
    return template.render(
        data=data,
        run=data["run"],
        timeline=timeline_svg(data["units"]),
        colours=STATUS_COLOURS,
    )

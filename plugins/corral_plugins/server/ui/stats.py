"""The stats page: ``/stats``, plots of the store's runs over a time range.

Per playbook (the busiest few, or the one chosen): the success rate and the p50/p95
duration of its runs per day (per hour for a range of two days or less), then the
slowest tasks and the flakiest hosts (those failing most often relative to their
runs). The figures are ``corral.store.trends``'; the plots are SVG drawn here
(``server/plots.py``), each with its numbers as a table.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from corral_plugins.server.ui.render import render, ui_router
from corral_plugins.server.ui.session import Viewer, page, server_of

if TYPE_CHECKING:
    from markupsafe import Markup


__all__ = ["router"]

router = ui_router()
READ = page("read")
RANGES = {"24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}
DEFAULT_RANGE = "7d"
MOST_PLAYBOOKS = 6  # plotted at once, the busiest first; choose one to see any other


@router.get("/stats")
def stats_page(request: Request, _viewer: Viewer = Depends(READ)) -> Response:  # noqa: B008
    """Plots for the chosen playbook (or the busiest ones) over the chosen range."""
    from corral.store.trends import trends

    server = server_of(request)
    store = server.store()
    chosen = request.query_params.get("playbook", "").strip()
    span = request.query_params.get("range", DEFAULT_RANGE)
    errors = []
    if span not in RANGES:
        errors.append(f"range {span!r} is unknown: pick one of {', '.join(RANGES)}")
        span = DEFAULT_RANGE
    now = time.time()
    found = trends(store, since=now - RANGES[span], until=now, playbook=chosen or None)
    names = sorted({*server.project.served, *(row[0] for row in store.conn.execute(_NAMES))} - {""})
    busiest = sorted(found["totals"], key=lambda r: -r["runs"])[:MOST_PLAYBOOKS]
    series = {p["playbook"]: p["series"] for p in found["playbooks"]}
    plots = [_playbook_plots(row, series.get(row["playbook"], []), found) for row in busiest]
    return render(
        request,
        "stats.html",
        playbooks=names,
        chosen={"playbook": chosen, "range": span},
        ranges=list(RANGES),
        errors=errors,
        totals=found["totals"],
        plots=plots,
        more=max(0, len(found["totals"]) - MOST_PLAYBOOKS),
        slowest=_slowest(found["slowest_tasks"]),
        flakiest=_flakiest(found["flakiest_hosts"]),
    )


# The playbooks that have runs: an index-only scan of ``runs (playbook, started)``.
_NAMES = "SELECT DISTINCT playbook FROM runs"


def _timeline(found: dict[str, Any]) -> list[float]:
    """Every bucket's start in the range, so a day without runs is a gap in the line."""
    size = found["bucket_seconds"]
    start = int(found["since"] // size * size)
    return [float(t) for t in range(start, int(found["until"]) + 1, size)]


def _playbook_plots(
    totals: dict[str, Any], series: list[dict[str, Any]], found: dict[str, Any]
) -> dict[str, Any]:
    from corral_plugins.server.plots import Series, line_chart

    name = totals["playbook"]
    hourly = found["bucket"] == "hour"
    per = {float(p["start"]): p for p in series}
    times = _timeline(found)

    def line(label: str, key: str) -> Series:
        return Series(label, [(t, per[t][key] if t in per else None) for t in times])

    success: Markup = line_chart(
        f"Success rate of {name}",
        f"The share of {name}'s finished runs that succeeded, per {found['bucket']}; "
        f"{totals['success_rate']:.0%} over the range.",
        [line("success rate", "success_rate")],
        unit=lambda v: f"{v:.0%}",
        y_max=1.0,
        hourly=hourly,
    )
    durations: Markup = line_chart(
        f"Duration of {name}",
        f"The median (p50) and 95th percentile (p95) of {name}'s run durations in seconds, "
        f"per {found['bucket']}.",
        [line("p50", "p50_duration"), line("p95", "p95_duration")],
        unit=_seconds,
        hourly=hourly,
    )
    return {"totals": totals, "success": success, "durations": durations}


def _slowest(rows: list[dict[str, Any]]) -> Markup:
    from corral_plugins.server.plots import Bar, bar_chart

    return bar_chart(
        "Slowest tasks",
        "The tasks with the longest mean duration per host, in seconds.",
        [
            Bar(
                f"{r['task'] or r['action']} ({r['playbook']})",
                r["mean_duration"] or 0.0,
                _seconds(r["mean_duration"] or 0.0),
            )
            for r in rows
        ],
    )


def _flakiest(rows: list[dict[str, Any]]) -> Markup:
    from corral_plugins.server.plots import Bar, bar_chart

    return bar_chart(
        "Flakiest hosts",
        "The hosts that failed or were unreachable in the largest share of their runs.",
        [
            Bar(
                r["host"],
                r["failure_rate"],
                f"{r['failure_rate']:.0%} of {r['runs']} runs",
            )
            for r in rows
        ],
        empty="no host failed or was unreachable in this range",
    )


def _seconds(value: float) -> str:
    from corral_plugins.history.display import format_duration

    return format_duration(value)

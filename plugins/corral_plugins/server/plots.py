"""Plots drawn on the server as SVG: a line chart over time and horizontal bars.

No JavaScript and no inline styles (the UI's content security policy allows neither):
colours come from CSS classes (``plot-series-0``...) with presentation attributes as
the fallback. Each plot is a ``<figure>`` whose SVG is an image named by its
``<title>`` and described by its ``<desc>``, followed by the same numbers as a table
for screen readers and for anyone who wants the exact values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

__all__ = ["Bar", "Series", "bar_chart", "line_chart"]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40  # margins: room for the axes' labels
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH = 18, 6, 200
COLOURS = ("#1f5fa8", "#b3470c", "#2d7a3a", "#7a2d6e")  # dark enough on white (WCAG AA)
_ids = itertools.count(1)  # unique ids for aria-labelledby within a page


@dataclass(frozen=True)
class Series:
    """One line: its name and its points as (epoch seconds, value); None is a gap."""

    name: str
    points: Sequence[tuple[float, float | None]]


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, its value, and how the value is shown."""

    label: str
    value: float
    shown: str


def line_chart(
    title: str,
    desc: str,
    series: Sequence[Series],
    *,
    unit: Callable[[float], str] = lambda v: f"{v:g}",
    y_max: float | None = None,
    hourly: bool = False,
) -> Markup:
    """Lines over time sharing one y axis from 0 (to ``y_max``, else the largest value);
    times are shown in UTC, as the store's days are cut."""
    xs = sorted({x for s in series for x, _ in s.points})
    values = [y for s in series for _, y in s.points if y is not None]
    if not xs or not values:
        return _empty(title, "no finished runs in this range")
    top = y_max if y_max is not None else _nice(max(values) or 1.0)
    x0, x1 = xs[0], xs[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (plot_w / 2 if x1 == x0 else (x - x0) / (x1 - x0) * plot_w)

    def py(y: float) -> float:
        return TOP + plot_h - (y / top) * plot_h

    def when(x: float) -> str:
        return _time(x, hourly)

    parts = [_axes(plot_w, plot_h)]
    for i in range(5):  # y ticks at 0, 25, 50, 75, 100 %
        value = top * i / 4
        y = py(value)
        parts.append(
            f'<line class="plot-grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#ddd"/>'
            f'<text class="plot-tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{escape(unit(value))}</text>'
        )
    for x in _ticks(xs, len(when(x0)), plot_w):
        # The first and last ticks sit on the plot's edges: anchored inwards, not cut.
        anchor = "middle" if x0 == x1 else "start" if x == x0 else "end" if x == x1 else "middle"
        parts.append(
            f'<text class="plot-tick" x="{px(x):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="{anchor}" font-size="11">{escape(when(x))}</text>'
        )
    for index, line in enumerate(series):
        colour, css = COLOURS[index % len(COLOURS)], f"plot-series-{index % len(COLOURS)}"
        for run in _runs(line.points):
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            parts.append(
                f'<polyline class="plot-line {css}" fill="none" stroke="{colour}" '
                f'stroke-width="2" points="{path}"/>'
            )
        for x, level in line.points:
            if level is not None:
                parts.append(
                    f'<circle class="plot-point {css}" cx="{px(x):.1f}" cy="{py(level):.1f}" '
                    f'r="3" fill="{colour}"><title>{escape(line.name)} {escape(when(x))}: '
                    f"{escape(unit(level))}</title></circle>"
                )
    legend = "".join(
        f'<rect class="plot-series-{i % len(COLOURS)}" x="{LEFT + 140 * i}" '
        f'y="{HEIGHT - 14}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
        f'<text x="{LEFT + 140 * i + 14}" y="{HEIGHT - 5}" font-size="11">{escape(s.name)}</text>'
        for i, s in enumerate(series)
    )
    table = _table(
        title,
        ["Time (UTC)", *(s.name for s in series)],
        [
            [when(x), *(_value_at(s, x, unit) for s in series)]  # one row per time
            for x in xs
        ],
    )
    return _figure(title, desc, "".join(parts) + legend, HEIGHT, table)


def bar_chart(
    title: str, desc: str, bars: Sequence[Bar], *, empty: str = "no finished runs in this range"
) -> Markup:
    """Horizontal bars, longest first as given, each labelled with its shown value;
    ``empty`` says why there is none."""
    if not bars:
        return _empty(title, empty)
    top = max(bar.value for bar in bars) or 1.0
    # Room for the longest shown value after its bar (about 7 px a character at 11 px).
    room = WIDTH - LABEL_WIDTH - 8 - 7 * max(len(bar.shown) for bar in bars)
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = []
    for i, bar in enumerate(bars):
        y = BAR_GAP + i * (BAR_HEIGHT + BAR_GAP)
        length = max(1.0, bar.value / top * room)
        parts.append(
            f'<text class="plot-label" x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end" '
            f'font-size="11">{escape(_clip(bar.label, 34))}</text>'
            f'<rect class="plot-bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
            f'height="{BAR_HEIGHT}" fill="{COLOURS[0]}"><title>{escape(bar.label)}: '
            f"{escape(bar.shown)}</title></rect>"
            f'<text class="plot-value" x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 13}" '
            f'font-size="11">{escape(bar.shown)}</text>'
        )
    table = _table(title, ["Name", "Value"], [[bar.label, bar.shown] for bar in bars])
    return _figure(title, desc, "".join(parts), height, table)


def _figure(title: str, desc: str, body: str, height: int, table: str) -> Markup:
    ident = f"plot-{next(_ids)}"
    # Every text inside was escaped where it was put in; the rest is our own markup.
    return Markup(  # noqa: S704
        f'<figure class="plot"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" class="plot-svg" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>{body}</svg>'
        f"<details><summary>{escape(title)}: the numbers</summary>{table}</details></figure>"
    )


def _empty(title: str, why: str) -> Markup:
    shown = f"{escape(title)}: {escape(why)}."
    return Markup(f'<p class="plot-empty">{shown}</p>')  # noqa: S704


def _axes(plot_w: int, plot_h: int) -> str:
    return (
        f'<line class="plot-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" '
        f'stroke="#333"/><line class="plot-axis" x1="{LEFT}" y1="{TOP + plot_h}" '
        f'x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#333"/>'
    )


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{escape(c)}</th>' if i == 0 else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="plot-table"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _runs(
    points: Sequence[tuple[float, float | None]],
) -> list[list[tuple[float, float]]]:
    """The points split at gaps (None), so a line is not drawn across a time without runs."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def _nice(top: float) -> float:
    """The smallest of 1, 2, 4, 6, 8 and 10 times a power of ten that is ``top`` or more:
    the axis's quarter ticks are then round numbers (0.002, 0.004... not 0.00175)."""
    power = 10.0 ** math.floor(math.log10(top))
    return next(m * power for m in (1, 2, 4, 6, 8, 10) if m * power >= top * (1 - 1e-9))


def _ticks(xs: Sequence[float], label_chars: int, plot_w: int) -> list[float]:
    """The times to label: one every ``step`` of ``xs``, counted back from the last (the
    newest is the one read first), ``step`` large enough that no two labels touch."""
    if len(xs) < 2:
        return list(xs)
    # An 11 px label is about 6.5 px a character; an edge label is anchored inwards, so
    # its neighbour must be one and a half labels away.
    room = label_chars * 6.5 * 1.5 + 8
    gaps = max(1, int(plot_w // room))  # how many label spacings the axis has room for
    step = max(1, math.ceil((len(xs) - 1) / gaps))
    return list(xs[len(xs) - 1 :: -step])[::-1]


def _value_at(series: Series, x: float, unit: Callable[[float], str]) -> str:
    found = dict(series.points).get(x)
    return "" if found is None else unit(found)


def _time(x: float, hourly: bool) -> str:
    moment = datetime.fromtimestamp(x, UTC)
    return f"{moment:%m-%d %H:00}" if hourly else f"{moment:%Y-%m-%d}"


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else "…" + text[-(most - 1) :]

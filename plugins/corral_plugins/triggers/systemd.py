"""``cron`` triggers as systemd timers: for hosts that run schedules without ``corral serve``.

A crontab expression becomes ``OnCalendar=`` lines (``30 2 * * 1-5`` in Europe/Berlin is
``Mon..Fri *-*-* 02:30:00 Europe/Berlin``). Cron runs a job when the day of the month
*or* the day of the week matches, where both are restricted; systemd wants both, so
such a schedule becomes two lines (a timer fires on either). What a timer cannot say is
reported, not silently dropped: ``overlap`` other than ``skip`` (systemd never starts a
service that is still running), ``catch_up: all`` (``Persistent=`` runs a missed time
once), ``misfire_grace``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from croniter import croniter

__all__ = ["TimerUnits", "on_calendar", "timer_units", "unit_name"]

_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


@dataclass(frozen=True)
class TimerUnits:
    """The two unit files for one trigger, and what the timer cannot express."""

    name: str  # without the suffix: NAME.service and NAME.timer
    service: str
    timer: str
    warnings: tuple[str, ...]


def on_calendar(schedule: str, zone: str = "UTC") -> list[str]:
    """The ``OnCalendar=`` values of a crontab expression; ValueError when it has none."""
    try:
        minutes, hours, days, months, weekdays = croniter(schedule).expanded[:5]
    except (ValueError, KeyError) as exc:
        raise ValueError(f"schedule: {schedule!r} is not a cron expression") from exc
    for field in (minutes, hours, days, months, weekdays):
        if any(not isinstance(v, int) and v != "*" for v in field):
            raise ValueError(f"schedule: {schedule!r} uses L or #, which a timer cannot say")
    time = f"{_values(hours, 2)}:{_values(minutes, 2)}:00"
    date = f"*-{_values(months, 2)}-{{days}}"
    dow = "" if weekdays == ["*"] else _weekdays(weekdays) + " "
    suffix = "" if zone == "UTC" else f" {zone}"
    if days != ["*"] and weekdays != ["*"]:  # cron's either-day rule: one line for each
        return [
            f"{date.format(days=_values(days, 2))} {time}{suffix}",
            f"{dow}{date.format(days='*')} {time}{suffix}",
        ]
    return [f"{dow}{date.format(days=_values(days, 2))} {time}{suffix}"]


def _values(values: Sequence[Any], width: int) -> str:
    if values == ["*"]:
        return "*"
    numbers = sorted(set(values))
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]:0{width}d}..{numbers[-1]:0{width}d}"
    return ",".join(f"{n:0{width}d}" for n in numbers)


def _weekdays(values: Sequence[Any]) -> str:
    days = sorted({int(v) % 7 for v in values})
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{_DAYS[days[0]]}..{_DAYS[days[-1]]}"
    return ",".join(_DAYS[d] for d in days)


def unit_name(playbook: str, index: int) -> str:
    """``corral-<playbook path, as a name>-<n>``: stable, and valid as a unit name."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", playbook.rsplit(".", 1)[0]).strip("-").lower()
    return f"corral-{stem or 'playbook'}-{index}"


def timer_units(
    name: str,
    args: Mapping[str, Any],
    *,
    project: Path,
    playbook: str,
    command: Sequence[str],
) -> TimerUnits:
    """The service (``command`` run in ``project``) and the timer for one ``cron:`` entry."""
    zone = str(args.get("timezone") or "UTC")
    calendars = on_calendar(str(args["schedule"]), zone)
    warnings = []
    if args.get("overlap", "skip") != "skip":
        warnings.append(f"overlap: {args['overlap']} becomes skip (a running service is left)")
    catch_up = args.get("catch_up", "none")
    if catch_up == "all":
        warnings.append("catch_up: all becomes last (Persistent= runs a missed time once)")
    if "misfire_grace" in args:
        warnings.append("misfire_grace is not used (a late timer always runs)")
    service = "\n".join(
        [
            "[Unit]",
            f"Description=corral: {playbook} (cron {args['schedule']})",
            "",
            "[Service]",
            "Type=oneshot",
            f"WorkingDirectory={project}",
            f"ExecStart={shlex.join(command)}",
            "",
        ]
    )
    timer_lines = ["[Unit]", f"Description=corral: {playbook} on schedule", "", "[Timer]"]
    timer_lines += [f"OnCalendar={calendar}" for calendar in calendars]
    timer_lines.append("AccuracySec=1s")
    if catch_up != "none":
        timer_lines.append("Persistent=true")
    jitter = float(args.get("jitter") or 0)
    if jitter > 0:
        # Fixed per timer, as the cron trigger's jitter is: the same delay on every fire.
        timer_lines += [f"RandomizedDelaySec={jitter:g}", "FixedRandomDelay=true"]
    timer_lines += [f"Unit={name}.service", "", "[Install]", "WantedBy=timers.target", ""]
    return TimerUnits(name, service, "\n".join(timer_lines), tuple(warnings))

"""The ``cron`` trigger: fire times across both DST changes, catch-up, jitter, and watching.

Times are checked on a virtual clock (the watch waits on an event whose ``wait`` moves
the clock), never by sleeping.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from corral import TriggerContext
from corral.testing import CorralProject
from corral_plugins.triggers.cron import CronSchedule, watch


def local_fires(schedule: str, zone: str, start: datetime, until: datetime) -> list[str]:
    """The fire times between ``start`` and ``until``, as wall-clock text with the zone."""
    cron = CronSchedule.from_args({"schedule": schedule, "timezone": zone})
    shown = []
    for fire in cron.fires_after(start):
        if fire >= until:
            return shown
        shown.append(fire.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M %Z"))
    raise AssertionError("unreachable")


def day(zone: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# Berlin's clocks skip 02:00-02:59 in March and repeat it in October; New York skips
# 02:00-02:59 in March and repeats 01:00-01:59 in November.
@pytest.mark.parametrize(
    ("zone", "spring", "spring_fires", "autumn", "autumn_schedule", "autumn_fires"),
    [
        (
            "Europe/Berlin",
            "2026-03-29",
            ["03-29 03:00 CEST", "03-30 02:30 CEST"],
            "2026-10-25",
            "30 2 * * *",
            ["10-25 02:30 CEST"],
        ),
        (
            "America/New_York",
            "2026-03-08",
            ["03-08 03:00 EDT", "03-09 02:30 EDT"],
            "2026-11-01",
            "30 1 * * *",
            ["11-01 01:30 EDT"],
        ),
    ],
)
def test_a_daily_time_in_the_gap_fires_once_at_its_end_and_a_repeated_one_once(
    zone: str,
    spring: str,
    spring_fires: list[str],
    autumn: str,
    autumn_schedule: str,
    autumn_fires: list[str],
) -> None:
    start = day(zone, f"{spring}T00:00")
    assert local_fires("30 2 * * *", zone, start, start + timedelta(days=2)) == spring_fires
    start = day(zone, f"{autumn}T00:00")
    assert local_fires(autumn_schedule, zone, start, start + timedelta(days=1)) == autumn_fires


def test_every_half_hour_across_both_changes_in_berlin() -> None:
    zone = "Europe/Berlin"
    spring = local_fires(
        "*/30 * * * *", zone, day(zone, "2026-03-29T01:00"), day(zone, "2026-03-29T04:00")
    )
    assert spring == ["03-29 01:30 CET", "03-29 03:00 CEST", "03-29 03:30 CEST"]
    autumn = local_fires(
        "*/30 * * * *", zone, day(zone, "2026-10-25T01:30"), day(zone, "2026-10-25T03:31")
    )
    # 02:00 and 02:30 happen twice on the clock; each fires once (the first time).
    assert autumn == ["10-25 02:00 CEST", "10-25 02:30 CEST", "10-25 03:00 CET", "10-25 03:30 CET"]


def test_names_and_bad_arguments() -> None:
    start = datetime(2026, 12, 5, 10, 15, tzinfo=UTC)
    daily = CronSchedule.from_args({"schedule": "@daily"})
    assert daily.next_fire(start) == datetime(2026, 12, 6, tzinfo=UTC)
    hourly = CronSchedule.from_args({"schedule": "@hourly", "timezone": "Asia/Kolkata"})
    assert hourly.next_fire(start) == datetime(2026, 12, 5, 10, 30, tzinfo=UTC)  # +05:30
    with pytest.raises(ValueError, match="schedule: '61 \\* \\* \\* \\*' is not a cron"):
        CronSchedule.from_args({"schedule": "61 * * * *"})
    with pytest.raises(ValueError, match="timezone: unknown time zone 'Mars/Base'"):
        CronSchedule.from_args({"schedule": "@daily", "timezone": "Mars/Base"})


def test_catch_up_after_downtime() -> None:
    args: dict[str, Any] = {"schedule": "0 * * * *", "misfire_grace": 300}
    last = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # the 01:00 run happened
    down_until = datetime(2026, 12, 5, 4, 2, tzinfo=UTC)  # 02:00 and 03:00 missed, 04:00 late

    def due(catch_up: str, now: datetime = down_until) -> list[int]:
        schedule = CronSchedule.from_args({**args, "catch_up": catch_up})
        return [fire.hour for fire in schedule.due(last, now)]

    assert due("none") == [4]
    assert due("last") == [4]
    assert due("all") == [2, 3, 4]
    later = down_until + timedelta(minutes=10)  # 04:00 is now past the grace too
    assert due("none", later) == []
    assert due("last", later) == [4]
    assert due("all", later) == [2, 3, 4]
    assert CronSchedule.from_args(args).due(None, later) == []  # a new trigger missed nothing


def test_jitter_is_fixed_per_trigger_and_bounded() -> None:
    start = datetime(2026, 12, 5, tzinfo=UTC)
    args = {"schedule": "@daily", "jitter": 600}
    first = CronSchedule.from_args(args, seed="backup.yml").next_fire(start)
    assert first == CronSchedule.from_args(args, seed="backup.yml").next_fire(start)
    other = CronSchedule.from_args(args, seed="renew-certs.yml").next_fire(start)
    assert first != other
    for fire in (first, other):
        assert timedelta(0) <= fire - datetime(2026, 12, 6, tzinfo=UTC) <= timedelta(seconds=600)


class VirtualClock(threading.Event):
    """A stop event whose ``wait`` moves a virtual clock instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        super().__init__()
        self.now = start

    def wait(self, timeout: float | None = None) -> bool:
        if not self.is_set() and timeout is not None:
            self.now += timedelta(seconds=timeout)
        return self.is_set()


def test_watch_fires_at_each_time_with_the_schedule_in_the_payload() -> None:
    clock = VirtualClock(datetime(2026, 10, 24, 23, 0, tzinfo=UTC))  # 01:00 CEST in Berlin
    fired: list[dict[str, Any]] = []

    def fire(payload: Any) -> None:
        fired.append(dict(payload))
        if len(fired) == 4:
            clock.set()

    ctx = TriggerContext("nightly.yml", fire, stopping=clock)
    watch(ctx, {"schedule": "*/30 2 * * *", "timezone": "Europe/Berlin"}, now=lambda: clock.now)
    berlin = ZoneInfo("Europe/Berlin")
    shown = [datetime.fromisoformat(p["scheduled"]).astimezone(berlin) for p in fired]
    assert [f"{t:%d %H:%M %Z}" for t in shown] == [
        "25 02:00 CEST",
        "25 02:30 CEST",  # not again at 02:00 and 02:30 CET
        "26 02:00 CET",
        "26 02:30 CET",
    ]
    assert all(p["fired"] == p["scheduled"] for p in fired)


@pytest.mark.parametrize(("catch_up", "hours"), [("none", []), ("last", [3]), ("all", [2, 3])])
def test_watch_catches_up_from_the_last_fire_it_is_given(catch_up: str, hours: list[int]) -> None:
    clock = VirtualClock(datetime(2026, 12, 5, 3, 30, tzinfo=UTC))  # down since 01:00
    fired: list[dict[str, Any]] = []

    def fire(payload: Any) -> None:
        fired.append(dict(payload))
        if datetime.fromisoformat(payload["scheduled"]).hour == 4:
            clock.set()  # the first fire on schedule again: stop

    last = datetime(2026, 12, 5, 1, 0, 5, tzinfo=UTC)
    ctx = TriggerContext("backup.yml", fire, stopping=clock, last_fire=last)
    watch(ctx, {"schedule": "0 * * * *", "catch_up": catch_up}, now=lambda: clock.now)
    scheduled = [datetime.fromisoformat(p["scheduled"]).hour for p in fired]
    assert scheduled == [*hours, 4]


def test_cron_is_a_built_in_trigger_plugin(corral_project: CorralProject) -> None:
    listed = json.loads(corral_project.run("plugins", "--json").stdout)
    plugin = next(p for p in listed if p["name"] == "triggers")
    assert plugin["triggers"] == ["cron", "file", "run", "webhook"]

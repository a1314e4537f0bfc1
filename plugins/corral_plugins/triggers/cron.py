"""The ``cron`` trigger: a crontab schedule in a time zone, as people mean it across DST.

Schedules are read as wall-clock times in the trigger's ``timezone`` (croniter walks the
naive local times, then each is placed on the time line with zoneinfo):

- a wall-clock time that happens twice (the autumn hour) fires once, the first time;
- one that does not exist (the spring gap) fires once, at the first instant after the
  gap (``30 2 * * *`` fires at 03:00 on that day); several of them fire once together.

After downtime, ``catch_up`` says what happens to the fire times that were missed:
``none`` skips them, ``last`` runs the latest once, ``all`` runs each. A missed time
younger than ``misfire_grace`` seconds is not missed: it runs late. ``jitter`` delays
every fire by up to that many seconds, by an amount fixed per trigger (a hash of the
playbook and the schedule), so a fleet of servers does not fire at the same second and
a restart does not move the fire time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from corral import TriggerContext

__all__ = ["CronSchedule", "watch"]

# The most fire times ``due`` returns after downtime (catch_up: all after months of
# an every-minute schedule): the walk stops there.
MAX_CATCH_UP = 1000


@dataclass(frozen=True)
class CronSchedule:
    """One ``cron:`` trigger's schedule and its policies (see the module's docstring)."""

    expression: str
    zone: ZoneInfo
    catch_up: str = "none"
    misfire_grace: float = 60.0
    jitter: float = 0.0
    seed: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, Any], seed: str = "") -> CronSchedule:
        """The schedule a ``cron:`` entry describes; ValueError naming what is wrong."""
        expression = str(args.get("schedule", "")).strip()
        if not croniter.is_valid(expression):
            raise ValueError(f"schedule: {expression!r} is not a cron expression")
        name = str(args.get("timezone") or "UTC")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown time zone {name!r}") from exc
        return cls(
            expression=expression,
            zone=zone,
            catch_up=str(args.get("catch_up", "none")),
            misfire_grace=float(args.get("misfire_grace", 60)),
            jitter=float(args.get("jitter", 0)),
            seed=f"{seed}\n{expression}\n{name}",
        )

    def fires_after(self, instant: datetime) -> Iterator[datetime]:
        """The fire instants (UTC, jitter not added) strictly after ``instant``, in order."""
        local = instant.astimezone(self.zone).replace(tzinfo=None)
        # Start a minute early: the wall-clock minute of ``instant`` may occur twice.
        walk = croniter(self.expression, local - timedelta(minutes=1))
        last = instant
        while True:
            fire = _instant(walk.get_next(datetime), self.zone)
            if fire > last:  # the gap's times all land on its end: that fires once
                yield fire
                last = fire

    def next_fire(self, instant: datetime) -> datetime:
        """The first fire instant after ``instant``, jitter included."""
        return next(self.fires_after(instant)) + self.delay

    @property
    def delay(self) -> timedelta:
        """This trigger's fixed jitter: the same on every fire and after every restart."""
        if self.jitter <= 0:
            return timedelta(0)
        digest = hashlib.sha256(self.seed.encode()).digest()
        fraction = int.from_bytes(digest[:8], "big") / 2**64
        return timedelta(seconds=round(fraction * self.jitter, 3))

    def due(self, last: datetime | None, now: datetime) -> list[datetime]:
        """The scheduled times to run now, given the last one that ran (None: never).

        Times within ``misfire_grace`` of ``now`` always run; older ones (missed while
        the server was down) follow ``catch_up``.
        """
        if last is None:
            return []  # a new trigger starts from now: nothing was missed
        grace = timedelta(seconds=self.misfire_grace)
        missed: list[datetime] = []
        late: list[datetime] = []
        for fire in self.fires_after(last):
            if fire + self.delay > now:
                break
            (late if now - (fire + self.delay) <= grace else missed).append(fire)
            if len(missed) + len(late) >= MAX_CATCH_UP:
                break
        if self.catch_up == "all":
            return missed + late
        if late:
            return late[-1:]  # late runs coalesce into one, the latest
        return missed[-1:] if self.catch_up == "last" else []


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone``, as the module docstring says."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # it exists; fold=0 is its first occurrence when it happens twice
    # In the spring gap: the first instant whose wall clock is past ``wall``, found from
    # the reading with the later offset (an instant before the change), minute by minute.
    probe = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while probe.astimezone(zone).replace(tzinfo=None) <= wall:
        probe += timedelta(minutes=1)
    return probe


def watch(
    ctx: TriggerContext,
    args: Mapping[str, Any],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Fire the playbook at each scheduled time until ``ctx.stopping`` is set.

    The payload says when the run was scheduled and when it fired (ISO 8601, UTC).
    First, the times missed since ``ctx.last_fire`` fire as ``catch_up`` and
    ``misfire_grace`` say. ``now`` is the clock (tests pass one that moves when waited on).
    """
    schedule = CronSchedule.from_args(args, seed=ctx.playbook)
    for scheduled in schedule.due(ctx.last_fire, now()):  # missed while nothing watched
        ctx.fire({"scheduled": scheduled.isoformat(), "fired": now().isoformat()})
    while not ctx.stopping.is_set():
        current = now()
        fire = schedule.next_fire(current)
        if ctx.stopping.wait(max(0.0, (fire - current).total_seconds())):
            return
        if now() < fire:
            continue  # woken early (a clock change): wait again for the same time
        scheduled = fire - schedule.delay
        ctx.fire({"scheduled": scheduled.isoformat(), "fired": now().isoformat()})

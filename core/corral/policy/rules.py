"""What each kind of policy.yml rule decides about a planned run (docs/policy.md).

Pure functions of the rule, the :class:`~corral.policy.model.PlannedRun` and the time:
nothing here reads a file or touches a host.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from corral.policy.load import Rule, parse_time
from corral.policy.model import PlannedPlay, PlannedRun, Verdict
from corral.secrets import Secret

__all__ = ["evaluate_rule"]


def evaluate_rule(rule: Rule, run: PlannedRun, now: datetime) -> Verdict:
    """The rule's verdict on ``run`` at ``now`` (an aware datetime)."""
    if run.check and not rule.check_mode:
        return _verdict(rule, "not applicable", "a --check run (the rule has no check_mode: true)")
    if rule.playbooks and not _matches(run.playbook_names(), rule.playbooks):
        return _verdict(rule, "not applicable", f"playbook {run.playbook_names()[0]} not in scope")
    plays = _plays_in_scope(rule, run)
    if not plays:
        return _verdict(rule, "not applicable", f"no host in {', '.join(rule.groups)}")
    judge: Callable[[Rule, PlannedRun, tuple[PlannedPlay, ...], datetime], Verdict]
    judge = _JUDGES[rule.kind]
    return judge(rule, run, plays, now)


def _plays_in_scope(rule: Rule, run: PlannedRun) -> tuple[PlannedPlay, ...]:
    if not rule.groups:
        return tuple(play for play in run.plays if play.hosts)
    return tuple(play for play in run.plays if play.groups & set(rule.groups))


def _verdict(rule: Rule, outcome: Any, detail: str = "", **more: Any) -> Verdict:
    more.setdefault("hint", rule.hint)
    return Verdict(
        rule=rule.name,
        outcome=outcome,
        reason=rule.reason,
        location=rule.location,
        detail=detail,
        **more,
    )


def _approval(
    rule: Rule, run: PlannedRun, plays: tuple[PlannedPlay, ...], now: datetime
) -> Verdict:
    settings = rule.value if isinstance(rule.value, dict) else {}
    names = tuple(play.name for play in plays)
    return _verdict(
        rule,
        "approval",
        f"{len(names)} play(s) wait for an approval: {', '.join(names)}",
        plays=names,
        approval=settings,
        hint=rule.hint
        or "approve at the terminal, or with 'corral approve RUN' from another shell",
    )


def _max_hosts(
    rule: Rule, run: PlannedRun, plays: tuple[PlannedPlay, ...], now: datetime
) -> Verdict:
    count = len({host for play in plays for host in play.hosts})
    limit = int(rule.value)
    if run.limit:
        return _verdict(rule, "allow", f"{count} host(s), with --limit {run.limit}")
    if count > limit:
        return _verdict(
            rule,
            "refuse",
            f"{count} hosts without --limit, at most {limit}",
            hint=rule.hint or f"choose the hosts with --limit (at most {limit} without it)",
        )
    return _verdict(rule, "allow", f"{count} host(s), at most {limit}")


def _freeze(rule: Rule, run: PlannedRun, plays: tuple[PlannedPlay, ...], now: datetime) -> Verdict:
    window = freeze_window(rule, now)
    if window is None:
        return _verdict(rule, "allow", "outside the freeze")
    start, end = window
    shown = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {rule.timezone.key}"
    return _verdict(
        rule,
        "refuse",
        f"in the freeze from {shown}",
        hint=rule.hint or f"run it after {end:%Y-%m-%d %H:%M} {rule.timezone.key}",
    )


def freeze_window(rule: Rule, now: datetime) -> tuple[datetime, datetime] | None:
    """The freeze ``now`` is in, as local (aware) start and end times, or None."""
    from croniter import croniter

    from corral.engine.retry import parse_duration

    zone = rule.timezone
    local = now.astimezone(zone)
    spec = rule.value
    if "start" in spec:
        seconds = parse_duration(spec["duration"]) or 0.0
        # The latest start at or before now (cron has minute precision: look from now + 1 s).
        naive = croniter(str(spec["start"]), local.replace(tzinfo=None) + timedelta(seconds=1))
        start = naive.get_prev(datetime).replace(tzinfo=zone)
        end = start + timedelta(seconds=seconds)
    else:
        first, last = parse_time(spec["from"]), parse_time(spec["until"])
        assert first is not None  # both checked when loaded
        assert last is not None
        start, end = first.replace(tzinfo=zone), last.replace(tzinfo=zone)
    if start.astimezone(UTC) <= now.astimezone(UTC) < end.astimezone(UTC):
        return start, end.astimezone(zone)
    return None


def _allow_playbooks(
    rule: Rule, run: PlannedRun, plays: tuple[PlannedPlay, ...], now: datetime
) -> Verdict:
    names = run.playbook_names()
    if _matches(names, rule.value):
        return _verdict(rule, "allow", f"{names[0]} is allowed")
    scope = f" on {', '.join(rule.groups)}" if rule.groups else ""
    return _verdict(
        rule,
        "refuse",
        f"{names[0]} is not one of the playbooks allowed{scope}: {', '.join(rule.value)}",
        hint=rule.hint or f"run one of {', '.join(rule.value)}, or choose other hosts",
    )


def _params(rule: Rule, run: PlannedRun, plays: tuple[PlannedPlay, ...], now: datetime) -> Verdict:
    given = run.params
    missing = [name for name in rule.value.get("required", ()) if _empty(given.get(name))]
    if missing:
        return _verdict(
            rule,
            "refuse",
            f"param {missing[0]!r} is not given",
            hint=rule.hint or f"give it with -p {missing[0]}=VALUE (or -e)",
        )
    for name, pattern in rule.value.get("match", {}).items():
        value = given.get(name)
        if _empty(value):
            return _verdict(
                rule,
                "refuse",
                f"param {name!r} is not given",
                hint=rule.hint or f"give it with -p {name}=VALUE matching {pattern}",
            )
        text = value.reveal() if isinstance(value, Secret) else str(value)
        if re.fullmatch(pattern, text) is None:
            # The value is not shown: it may be a secret, and the store keeps this line.
            return _verdict(
                rule,
                "refuse",
                f"param {name!r} does not match {pattern}",
                hint=rule.hint or f"give {name} a value matching {pattern}",
            )
    return _verdict(rule, "allow", "params given")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _matches(names: tuple[str, ...], globs: Any) -> bool:
    return any(fnmatch.fnmatchcase(name, str(glob)) for name in names for glob in globs)


_JUDGES = {
    "approval": _approval,
    "max_hosts": _max_hosts,
    "freeze": _freeze,
    "allow_playbooks": _allow_playbooks,
    "params": _params,
}

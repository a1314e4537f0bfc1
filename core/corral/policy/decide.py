"""From a prepared run to the policy's decision, and from the decision to what the run does.

::

    planned = planned_run(prepared, options, project=cwd, user=..., trigger=...)
    decision = decide(policy, registry, planned)        # policy.yml rules, then plugins
    decision.raise_if_refused()                          # PolicyError, exit 4
    playbook = with_approvals(prepared.playbook, decision)

Nothing here touches a host; :mod:`corral.policy.enforce` records the decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import PolicyError
from corral.policy.model import PlannedPlay, PlannedRun, Verdict

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun
    from corral.playbook.model import Playbook
    from corral.plugins import Registry
    from corral.policy.load import Policy

__all__ = ["PolicyDecision", "decide", "planned_run", "with_approvals"]

DEFAULT_APPROVAL_TIMEOUT = "1h"


@dataclass(frozen=True)
class PolicyDecision:
    """Every rule's verdict on one run, policy.yml's first, then the plugins'."""

    path: Path | None
    verdicts: tuple[Verdict, ...]

    @property
    def refusals(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.outcome == "refuse")

    @property
    def approvals(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.outcome == "approval")

    @property
    def outcome(self) -> str:
        """``refused``, ``approval`` (allowed once approved) or ``allowed``."""
        if self.refusals:
            return "refused"
        return "approval" if self.approvals else "allowed"

    @property
    def empty(self) -> bool:
        """No policy file and no plugin verdict: nothing to show or record."""
        return self.path is None and not self.verdicts

    def as_record(self) -> dict[str, Any]:
        """The ``policy`` event's fields (docs/events.md) and the audit row's arguments."""
        return {
            "file": str(self.path) if self.path else None,
            "outcome": self.outcome,
            "rules": [v.as_record() for v in self.verdicts],
        }

    def raise_if_refused(self) -> None:
        """Raise :class:`PolicyError` (exit 4) for the first refusal, at the rule's place."""
        if not self.refusals:
            return
        first = self.refusals[0]
        source = f" of plugin {first.plugin!r}" if first.plugin else ""
        detail = f" ({first.detail})" if first.detail else ""
        more = len(self.refusals) - 1
        also = f"; {more} other rule(s) refuse it too ('corral plan' shows them)" if more else ""
        raise PolicyError(
            f"run refused by policy rule {first.rule!r}{source}: {first.reason}{detail}{also}",
            hint=first.hint or "see the rule in the policy, or 'corral plan' for every rule",
            location=first.location,
        )


def planned_run(
    prepared: PreparedRun,
    options: RunOptions,
    *,
    project: Path,
    user: str,
    trigger: str = "cli",
) -> PlannedRun:
    """The run the policy judges: each play's hosts after ``--limit``, and their groups."""
    from corral.engine.selection import adds_hosts

    inventory = prepared.inventory
    plays = []
    for play in prepared.playbook.plays:
        pattern = play.hosts if isinstance(play.hosts, str) else ",".join(play.hosts)
        if "{{" in pattern or adds_hosts(play):
            # Known only while the run goes: judged as if it were every host (the safe side).
            hosts = inventory.select("all", limit=options.limit)
        else:
            hosts = inventory.select(play.hosts, limit=options.limit)
        groups = {group for host in hosts for group in inventory.host_groups(host)}
        plays.append(
            PlannedPlay(
                name=play.name,
                uid=play.uid,
                pattern=pattern,
                hosts=tuple(hosts),
                groups=frozenset(groups | {"all"}),
            )
        )
    return PlannedRun(
        playbook=prepared.playbook.path,
        project=project,
        plays=tuple(plays),
        params={**options.extra_vars, **prepared.params},
        limit=options.limit,
        user=user,
        check=options.check,
        trigger=trigger,
    )


def decide(
    policy: Policy | None,
    registry: Registry,
    run: PlannedRun,
    now: datetime | None = None,
) -> PolicyDecision:
    """Every rule of ``policy`` and every ``corral_check_run`` plugin, on ``run``."""
    from corral.policy.rules import evaluate_rule

    now = now or datetime.now(UTC)
    verdicts = [evaluate_rule(rule, run, now) for rule in policy.rules] if policy else []
    verdicts.extend(registry.check_run(run))
    return PolicyDecision(path=policy.path if policy else None, verdicts=tuple(verdicts))


def with_approvals(playbook: Playbook, decision: PolicyDecision) -> Playbook:
    """``playbook`` with an ``approval:`` on each play an approval verdict names.

    A play with its own ``approval:`` keeps it (one approval answers both), made
    four-eyes when a rule asks for that.
    """
    wanted: dict[str, list[Verdict]] = {}
    for verdict in decision.approvals:
        for play in playbook.plays:
            if not verdict.plays or play.name in verdict.plays:
                wanted.setdefault(play.uid, []).append(verdict)
    if not wanted:
        return playbook
    plays = []
    for play in playbook.plays:
        verdicts = wanted.get(play.uid)
        approval = _approval_for(play.name, play.approval, verdicts) if verdicts else None
        plays.append(replace(play, approval=approval) if approval else play)
    return replace(playbook, plays=tuple(plays))


def _approval_for(
    play: str, own: Mapping[str, Any] | None, verdicts: Iterable[Verdict]
) -> dict[str, Any]:
    verdicts = list(verdicts)
    four_eyes = any(v.approval.get("forbid_starter") for v in verdicts)
    if own:
        return {**own, "forbid_starter": bool(own.get("forbid_starter")) or four_eyes}
    first = verdicts[0]
    rules = ", ".join(repr(v.rule) for v in verdicts)
    # Approval messages are templates; the rule's reason is plain text, not one.
    message = first.approval.get("message") or (
        "{% raw %}" + f"Policy {rules}: {first.reason}. Run {play!r}?" + "{% endraw %}"
    )
    return {
        "message": message,
        "timeout": first.approval.get("timeout", DEFAULT_APPROVAL_TIMEOUT),
        "on_timeout": "fail",
        "forbid_starter": four_eyes,
    }

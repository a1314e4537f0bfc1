"""What ``corral plan`` and ``corral check`` say about the policy."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from corral.policy.decide import PolicyDecision, decide, planned_run

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun
    from corral.plugins import Registry

__all__ = ["judge_plan", "policy_lines"]

_OUTCOMES = {
    "refused": "a run would be REFUSED",
    "approval": "a run would wait for approval",
    "allowed": "a run would be allowed",
}


def judge_plan(
    prepared: PreparedRun,
    options: RunOptions,
    registry: Registry,
    environ: Mapping[str, str],
    policy_file: Path | None,
    project: Path,
) -> PolicyDecision:
    """The decision a ``corral run`` of ``project`` (its directory) with these options
    would meet now, from this terminal: its ``policy.yml`` unless ``policy_file`` is given."""
    from corral.engine.approval import who
    from corral.policy.enforce import read_policy

    policy = read_policy(policy_file, environ, project)
    plan = planned_run(prepared, options, project=project, user=who())
    return decide(policy, registry, plan)


def policy_lines(decision: PolicyDecision) -> list[str]:
    """The plan's policy section: each rule, what it decides and why."""
    where = str(decision.path) if decision.path else "plugins only"
    lines = ["", f"policy ({where}): {_OUTCOMES[decision.outcome]}"]
    for verdict in decision.verdicts:
        source = f" [plugin {verdict.plugin}]" if verdict.plugin else ""
        detail = f": {verdict.detail}" if verdict.detail else ""
        lines.append(f"  {verdict.outcome:<14} {verdict.rule}{source}{detail}")
    return lines

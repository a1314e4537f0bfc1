"""The policy at the start of ``corral run``: decide, refuse or add approvals, record.

A refused run never starts, so it has no run of its own in the store: the refusal is
an ``audit`` row (channel ``policy``, action ``refuse``). An allowed run carries the
decision in its options, and the engine makes it the run's ``policy`` event
(docs/store.md, docs/events.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import CorralError
from corral.policy.decide import PolicyDecision, decide, planned_run, with_approvals

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun
    from corral.plugins import Registry
    from corral.policy.load import Policy
    from corral.policy.model import PlannedRun

__all__ = ["enforce_policy", "read_policy", "run_origin"]


def read_policy(given: Path | None, environ: Mapping[str, str], cwd: Path) -> Policy | None:
    """The project's policy (``--policy``, ``CORRAL_POLICY``, ``./policy.yml``), or None."""
    from corral.policy.load import find_policy, load_policy

    path = find_policy(given, environ, cwd)
    return load_policy(path) if path is not None else None


def run_origin(environ: Mapping[str, str], queued_run: str | None) -> tuple[str, str]:
    """Who starts the run and what started it: ``(user, trigger)``.

    A run ``corral serve`` queued says so in its row (``started_by``, ``trigger``);
    any other is the person at this terminal, started from the command line.
    """
    from corral.engine.approval import who

    if queued_run:
        from corral.store.db import open_store, store_enabled

        if store_enabled(environ):
            store = open_store(environ)
            try:
                row = store.run_row(queued_run) or {}
            finally:
                store.close()
            return str(row.get("started_by") or who()), str(row.get("trigger") or "serve")
    return who(), "cli"


def enforce_policy(
    prepared: PreparedRun,
    options: RunOptions,
    registry: Registry,
    environ: Mapping[str, str],
    *,
    policy_file: Path | None,
    can_approve: bool,
    queued_run: str | None = None,
) -> tuple[PreparedRun, RunOptions]:
    """Judge the run; raise :class:`PolicyError` (exit 4) when it may not start.

    Returns the prepared run with the approvals the policy asks for added to its
    plays, and options whose ``policy`` field holds the decision for the run's
    ``policy`` event. ``can_approve`` says whether anyone could answer an approval
    (a terminal, or the run store for ``corral approve``); when nobody could, a
    run that needs one is refused rather than left waiting for its timeout.
    """
    cwd = Path.cwd()
    policy = read_policy(policy_file, environ, cwd)
    user, trigger = run_origin(environ, queued_run)
    plan = planned_run(prepared, options, project=cwd, user=user, trigger=trigger)
    decision = decide(policy, registry, plan)
    if decision.empty:
        return prepared, options
    if decision.approvals and not decision.refusals and not can_approve:
        decision = _nobody_to_approve(decision)
    if decision.refusals:
        record_refusal(environ, decision, plan, queued_run)
        decision.raise_if_refused()
    prepared = replace(prepared, playbook=with_approvals(prepared.playbook, decision))
    return prepared, replace(options, policy=decision.as_record())


def _nobody_to_approve(decision: PolicyDecision) -> PolicyDecision:
    """Approvals nobody could give become refusals (docs/policy.md, "Approvals")."""
    verdicts = tuple(
        replace(
            v,
            outcome="refuse",
            detail=f"{v.detail}; nobody can approve: no terminal and no run store",
            hint="run it at a terminal, or with the run store on so that"
            " 'corral approve RUN' can answer",
        )
        if v.outcome == "approval"
        else v
        for v in decision.verdicts
    )
    return replace(decision, verdicts=verdicts)


def record_refusal(
    environ: Mapping[str, str],
    decision: PolicyDecision,
    plan: PlannedRun,
    run_id: str | None,
) -> None:
    """One ``audit`` row (channel ``policy``) for a run refused before it started."""
    from corral.store.db import open_store, store_enabled

    if not store_enabled(environ):
        return
    args: dict[str, Any] = {
        **decision.as_record(),
        "playbook": str(plan.playbook),
        "hosts": len(plan.hosts),
        "limit": plan.limit,
        "check": plan.check,
        "trigger": plan.trigger,
    }
    try:
        store = open_store(environ)
    except CorralError:
        return  # the refusal still stands; only its record is lost, and the error says why
    try:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO audit (time, channel, client, action, args, outcome, run_id) "
                "VALUES (?, 'policy', ?, 'refuse', ?, 'refused', ?)",
                (time.time(), plan.user, json.dumps(args, default=str), run_id),
            )
    finally:
        store.close()

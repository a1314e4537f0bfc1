"""Policy guardrails: rules a run must pass before it touches a host (docs/policy.md).

``load`` reads and checks ``policy.yml``; ``rules`` says what each kind of rule
decides; ``decide`` turns a prepared run into a :class:`~corral.policy.model.PlannedRun`
and collects the verdicts of the rules and of the ``corral_check_run`` plugins;
``enforce`` is what ``corral run`` calls, and records the decision.
"""

from __future__ import annotations

from corral.policy.model import Outcome, PlannedPlay, PlannedRun, Verdict

__all__ = ["Outcome", "PlannedPlay", "PlannedRun", "Verdict"]

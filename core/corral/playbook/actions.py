"""Which step a task names, among its keys; the errors when it names none or two."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.errors import Location, PlaybookError, did_you_mean
from corral.playbook import keywords as kw
from corral.playbook.keyword_check import key_location
from corral.steps import StepType

__all__ = ["find_action"]


def find_action(node: Mapping[str, Any], steps: Mapping[str, StepType], where: Location) -> str:
    """The step a task names; an unknown or second one is an error with a hint."""
    candidates = [k for k in node if k not in kw.TASK]
    known = [k for k in candidates if k in steps]
    unknown = [k for k in candidates if k not in steps]
    if len(known) > 1:
        raise PlaybookError(
            f"task has more than one step: {', '.join(map(repr, known))}",
            hint="split it into one task per step",
            location=key_location(node, known[1], where),
        )
    if known and unknown:
        raise PlaybookError(
            f"unknown task keyword {unknown[0]!r}",
            hint=did_you_mean(str(unknown[0]), kw.TASK)
            or "see docs/playbooks.md for task keywords",
            location=key_location(node, unknown[0], where),
        )
    if known:
        return known[0]
    if not unknown:
        raise PlaybookError(
            "task has no step", hint="add a step such as 'debug: {msg: hi}'", location=where
        )
    name = str(unknown[0])
    keyword_hint = did_you_mean(name, kw.TASK)
    step_hint = did_you_mean(name, steps)
    if keyword_hint and not step_hint:
        raise PlaybookError(
            f"unknown task keyword {name!r} (and the task has no step)",
            hint=keyword_hint,
            location=key_location(node, name, where),
        )
    raise PlaybookError(
        f"unknown step type {name!r}",
        hint=step_hint or "run 'corral plugins' to list the step types installed",
        location=key_location(node, name, where),
    )

"""What the pre-run variable check needs to know about step types, and template files.

The core knows no step by name except through the registry: :class:`StepNames`
is built from the registered step types, so a third-party fact step that
declares its ``facts`` is understood as ``setup`` is.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from corral.errors import CorralError

if TYPE_CHECKING:
    from corral.playbook.model import Task
    from corral.playbook.templating.templar import Templar
    from corral.steps import StepType

TEMPLATE_STEP = "template"
# What the ``template`` step adds to the variables a template file sees.
TEMPLATE_VARS = frozenset(
    {
        "template_path",
        "template_fullpath",
        "template_destpath",
        "template_host",
        "template_uid",
        "template_run_date",
        "ansible_managed",
    }
)
# A template file larger than this is not read before the run (the run reads it).
_MAX_TEMPLATE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class StepNames:
    """The action names that gather facts (and the facts they set), and those that render files."""

    fact_steps: frozenset[str] = frozenset()
    fact_names: frozenset[str] = frozenset()  # plain names, without "ansible_"
    fact_patterns: tuple[str, ...] = ()  # names that vary by host ("eth*")
    template_steps: frozenset[str] = frozenset()
    # Actions that set plain variables (``getent``), and the patterns of those names.
    variable_steps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Actions whose arguments hold bare expressions (``assert``: ``that``), and which.
    expression_args: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_steps(cls, steps: Mapping[str, StepType]) -> StepNames:
        fact_steps: set[str] = set()
        names: set[str] = set()
        patterns: list[str] = []
        template_steps: set[str] = set()
        fact_lists: dict[int, tuple[str, ...]] = {}  # by step: each is known by 3 names or more
        variable_steps: dict[str, tuple[str, ...]] = {}
        expression_args: dict[str, tuple[str, ...]] = {}
        for action, step in steps.items():
            if step.variables:
                variable_steps[action] = step.variables
            if step.expressions:
                expression_args[action] = step.expressions
            if step.facts:
                fact_steps.add(action)
                fact_lists[id(step)] = tuple(step.facts)
            if step.name == TEMPLATE_STEP:
                template_steps.add(action)
        for facts in fact_lists.values():
            for fact in facts:
                if any(char in fact for char in "*?["):
                    patterns.append(fact)
                else:
                    names.add(fact)
        return cls(
            frozenset(fact_steps),
            frozenset(names),
            tuple(dict.fromkeys(patterns)),
            frozenset(template_steps),
            variable_steps,
            expression_args,
        )

    def is_fact(self, name: str) -> bool:
        """Whether ``ansible_<fact>`` names a fact one of the fact steps sets."""
        if not name.startswith("ansible_"):
            return False
        fact = name[len("ansible_") :]
        return fact in self.fact_names or any(
            fnmatch.fnmatchcase(fact, pattern) for pattern in self.fact_patterns
        )


NO_STEPS = StepNames()


def template_file_names(
    task: Task, base_dir: Path, templar: Templar
) -> tuple[str, set[str]] | None:
    """The template file a ``template`` task renders, and the variables it reads.

    ``None`` when that is only known at run time (``src`` is a template, or the
    file is not found yet): the run reports those cases itself.
    """
    from corral.playbook.templating.undefined import guarded_names

    src = task.args.get("src")
    if not isinstance(src, str) or "{{" in src or "{%" in src:
        return None
    from corral.playbook.templating.template_files import template_file

    path = template_file(task, base_dir)
    if path is None:
        return None
    try:
        if path.stat().st_size > _MAX_TEMPLATE_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
        names = templar.variables_used(text)
    except (OSError, UnicodeDecodeError, CorralError):
        return None  # unreadable or not a valid template: the task fails with the reason
    from corral.playbook.loader import display_path

    return display_path(path), names - guarded_names(text)

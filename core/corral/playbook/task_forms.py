"""The older ways Ansible lets a task name its module, and finding the task's step.

``action: copy src=a dest=b``, ``action: {module: copy, src: a}`` and
``local_action: ...`` (the same, delegated to ``localhost``) are rewritten to the
usual ``copy: ...`` form before the task is read, as Ansible's ``ModuleArgsParser``
does; ``ansible.builtin.include_tasks`` and its kin become their short keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.errors import Location, PlaybookError, did_you_mean
from corral.playbook import keywords as kw
from corral.playbook.keyword_check import key_location
from corral.playbook.module_names import BUILTIN_PREFIXES, REMOVED, counterpart_hint
from corral.playbook.splitter import SplitError, split_args
from corral.playbook.yaml.marked import MarkedDict
from corral.steps import StepType

__all__ = ["UnknownStep", "expand_task_forms", "find_step"]


class UnknownStep(PlaybookError):
    """A task names a step type that no plugin registered (a module corral lacks, or a typo)."""


# Task keywords that are modules in Ansible, written with a collection prefix.
_KEYWORD_MODULES = frozenset(
    ("include_tasks", "import_tasks", "include_role", "import_role", "include_vars")
)


def expand_task_forms(node: Mapping[str, Any], where: Location) -> Mapping[str, Any]:
    """``node`` with ``action``/``local_action`` turned into ``<step>: <args>`` (else as is)."""
    renamed = _short_keywords(node)
    if renamed is not None:
        node = renamed
    if "action" not in node and "local_action" not in node:
        return node
    if "action" in node and "local_action" in node:
        raise PlaybookError(
            "a task cannot have both 'action' and 'local_action'",
            hint="keep one: local_action is action run on localhost",
            location=key_location(node, "local_action", where),
        )
    key = "local_action" if "local_action" in node else "action"
    key_where = key_location(node, key, where)
    name, args, extra = _module_and_args(node[key], key, key_where)
    items: list[tuple[str, Any]] = []
    for k, v in node.items():
        if k == key:
            items.append((name, args))
        else:
            items.append((k, v))
    if extra:
        # The mapping form's arguments come after the task's 'args:' (Ansible's order).
        items = [(k, v) for k, v in items if k != "args"]
        items.append(("args", {**dict(node.get("args") or {}), **extra}))
    if key == "local_action":
        items = [(k, v) for k, v in items if k != "delegate_to"]
        items.append(("delegate_to", "localhost"))
    marks = dict(node.key_marks) if isinstance(node, MarkedDict) else {}
    marks[name] = key_where
    mark = node.mark if isinstance(node, MarkedDict) else where
    return MarkedDict(mark, items, marks)


def _short_keywords(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``ansible.builtin.include_tasks: x`` as ``include_tasks: x`` (None when nothing to do)."""
    renames = {}
    for key in node:
        if isinstance(key, str) and key.startswith(BUILTIN_PREFIXES):
            short = key.split(".", 2)[2]
            if short in _KEYWORD_MODULES and short not in node:
                renames[key] = short
    if not renames:
        return None
    marks = dict(node.key_marks) if isinstance(node, MarkedDict) else {}
    for old, new in renames.items():
        if old in marks:
            marks[new] = marks[old]
    items = [(renames.get(k, k), v) for k, v in node.items()]
    mark = node.mark if isinstance(node, MarkedDict) else Location("", 0, 0)
    return MarkedDict(mark, items, marks)


def _module_and_args(value: Any, key: str, where: Location) -> tuple[str, Any, dict[str, Any]]:
    """The module name, its argument string (or None) and, for a mapping, its other keys."""
    extra: dict[str, Any] = {}
    if isinstance(value, Mapping):
        if "module" not in value:
            raise PlaybookError(
                f"'{key}' as a mapping needs a 'module' key",
                hint=f"write '{key}: {{module: copy, src: a, dest: b}}' or '{key}: copy src=a'",
                location=where,
            )
        extra = {str(k): v for k, v in value.items() if k != "module"}
        value = value["module"]
    if not isinstance(value, str) or not value.strip():
        raise PlaybookError(
            f"'{key}' must name a step, as in '{key}: copy src=a dest=b'",
            location=where,
        )
    try:
        words = split_args(value.strip())
    except SplitError as exc:
        raise PlaybookError(f"cannot parse '{key}': {exc.message}", location=where) from exc
    name = words[0].strip()
    rest = " ".join(words[1:])
    return name, (rest or None), extra


def find_step(node: Mapping[str, Any], where: Location, steps: Mapping[str, StepType]) -> str:
    """The key of ``node`` that names its step; a located error when there is none or several."""
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
            hint=REMOVED.get(str(unknown[0]))
            or did_you_mean(str(unknown[0]), kw.TASK)
            or "see docs/playbooks.md for task keywords",
            location=key_location(node, unknown[0], where),
        )
    if known:
        return str(known[0])
    if not unknown:
        raise PlaybookError(
            "task has no step", hint="add a step such as 'debug: {msg: hi}'", location=where
        )
    name = str(unknown[0])
    keyword_hint = did_you_mean(name, kw.TASK)
    step_hint = REMOVED.get(name) or counterpart_hint(name, steps) or did_you_mean(name, steps)
    if keyword_hint and not step_hint:
        raise PlaybookError(
            f"unknown task keyword {name!r} (and the task has no step)",
            hint=keyword_hint,
            location=key_location(node, name, where),
        )
    raise UnknownStep(
        f"unknown step type {name!r}",
        hint=step_hint or "run 'corral plugins' to list the step types installed",
        location=key_location(node, name, where),
    )

"""Find variables a playbook uses that nothing defines, before any host is touched.

A name counts as defined when the inventory (any host or group), the play's
``vars``/``vars_files``, a block's or task's ``vars``, a loop, ``register``,
``set_fact`` (anywhere in the playbook), facts (after ``gather_facts`` or a
``setup`` task), extra
vars or the magic variables provide it; ``ansible_user`` also in a play that sets
``remote_user`` (Ansible gives the keyword's value to the variable). Only top-level
names are judged: ``result.stdout`` is fine once ``result`` is registered.

A play that selects no host of the inventory runs no task (Ansible skips it) unless
``add_host`` or ``group_by`` give it hosts during the run: what it uses undefined is
a warning, not an error. Its templates are parsed all the same, so an unknown filter
or an unsafe template is an error in every play.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import Location, PlaybookError, TemplateError, did_you_mean, error_location
from corral.playbook.model import Block, Include, Play, Playbook, Task, TaskNode
from corral.playbook.templating.stepnames import (
    NO_STEPS,
    TEMPLATE_VARS,
    StepNames,
    template_file_names,
)

if TYPE_CHECKING:
    import jinja2

    from corral.playbook.templating.templar import Templar

MAGIC = frozenset(
    {
        "inventory_hostname",
        "inventory_hostname_short",
        "ansible_host",  # a task sees its host's name when the inventory sets none
        "group_names",
        "groups",
        "hostvars",
        "play_hosts",
        "ansible_play_batch",
        "ansible_play_hosts",
        "ansible_play_hosts_all",
        "ansible_play_name",
        "playbook_dir",
        "inventory_dir",
        "inventory_file",
        "ansible_check_mode",
        "ansible_diff_mode",
        "ansible_run_id",
        "ansible_version",
        "omit",
        "environment",
        "ansible_failed_task",
        "ansible_playbook_python",
        "ansible_failed_result",
        "ansible_run_tags",
        "ansible_skip_tags",
        "ansible_forks",
        "ansible_verbosity",
        "role_names",
        "ansible_role_names",
        "ansible_play_role_names",
        "ansible_dependent_role_names",
    }
)
# Connection settings are variables a user sets, never facts (ansible_host, ansible_user...).
CONNECTION_VARS = frozenset(
    {
        "ansible_host",
        "ansible_port",
        "ansible_user",
        "ansible_password",
        "ansible_connection",
        "ansible_private_key_file",
        "ansible_python_interpreter",
    }
)
CONNECTION_PREFIXES = ("ansible_ssh_", "ansible_become", "ansible_shell_")
# What a role's task is told about its role (corral.engine.variables.role_magic).
ROLE_MAGIC = frozenset(
    {
        "role_name",
        "role_path",
        "ansible_role_name",
        "ansible_parent_role_names",
        "ansible_parent_role_paths",
    }
)
FACT_HINT = (
    "facts are not gathered yet: remove 'gather_facts: false' from the play, or run the "
    "'setup' step before this task"
)


@dataclass(frozen=True)
class UndefinedUse:
    """A variable used at ``location`` that nothing defines, with a hint when one helps."""

    name: str
    location: Location
    what: str
    hint: str | None = None
    play_has_hosts: bool = True  # False: only a host that add_host or group_by add runs it


def _walk(nodes: Iterable[TaskNode]) -> Iterator[Task]:
    for node in nodes:
        if isinstance(node, Task):
            yield node
        elif isinstance(node, Block):
            yield from _walk((*node.block, *node.rescue, *node.always))
        elif isinstance(node, Include) and node.tasks is not None:
            yield from _walk(node.tasks)


def play_tasks(play: Play) -> Iterator[Task]:
    """Every task of a play that is known before running, handlers included."""
    yield from _walk((*play.pre_tasks, *play.tasks, *play.post_tasks, *play.handlers))


def _includes(nodes: Iterable[TaskNode]) -> Iterator[Include]:
    for node in nodes:
        if isinstance(node, Include):
            yield node
            if node.tasks is not None:
                yield from _includes(node.tasks)
        elif isinstance(node, Block):
            yield from _includes((*node.block, *node.rescue, *node.always))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _expressions(value: Any) -> Iterator[str]:
    """Conditions are bare expressions; wrap each as a template to parse it."""
    for item in value or ():
        if isinstance(item, str):
            yield item if "{{" in item else "{{ " + item + " }}"


def find_undefined(
    playbook: Playbook,
    known: Iterable[str],
    templar: Templar,
    steps: StepNames = NO_STEPS,
    plays_without_hosts: Collection[int] = (),
) -> list[UndefinedUse]:
    """Every use of a variable that no source defines, in playbook order.

    Facts count as defined from the first play that gathers them (``gather_facts``)
    or the first ``setup`` task, in file order, on: facts stay with the hosts for
    the rest of the run, as in Ansible. ``plays_without_hosts`` are the positions of
    the plays that select no host of the inventory: their problems say so
    (``play_has_hosts=False``).
    """
    defined_everywhere = set(known) | MAGIC
    patterns: list[str] = []  # variables steps such as getent set, by pattern
    for play in playbook.plays:
        for task in play_tasks(play):
            patterns += steps.variable_steps.get(task.action, ())
            if task.register:
                defined_everywhere.add(task.register)
            if task.action.rsplit(".", 1)[-1] == "set_fact":
                defined_everywhere.update(str(k) for k in task.args if k != "cacheable")
    problems: list[UndefinedUse] = []
    gathered = False
    for index, play in enumerate(playbook.plays):
        gathered = gathered or bool(play.gather_facts)
        # A vars file named by a template is only known at run time: any name may
        # come from it, so this play's names are not judged before the run.
        judged = all(isinstance(item, Mapping) for item in play.vars_files)
        has_hosts = index not in plays_without_hosts
        defined = defined_everywhere | set(play.vars) | set(play.role_defaults)
        defined |= {prompt.name for prompt in play.prompts}
        defined |= set(play.role_vars)
        if play.remote_user is not None:
            defined.add("ansible_user")
        included = _included_vars(play, playbook.base_dir)
        # An include_vars whose file is only known at run time: as for templated vars_files.
        judged = judged and included is not None
        defined |= included or set()
        for item in play.vars_files:
            if isinstance(item, Mapping):
                defined |= set(item)
        for include in _includes((*play.pre_tasks, *play.tasks, *play.post_tasks)):
            defined |= set(include.vars) | {str(include.loop_control.get("loop_var", "item"))}
        scope = _Scope(defined, gathered, play, playbook.base_dir, tuple(patterns))
        for task in play_tasks(play):
            scope = scope if scope.gathered == gathered else replace(scope, gathered=gathered)
            # Parsed even when not judged: an unknown filter fails whatever the hosts.
            found = list(_task_problems(task, scope, templar, steps))
            if judged:
                problems.extend(replace(p, play_has_hosts=has_hosts) for p in found)
            gathered = gathered or task.action in steps.fact_steps
    return problems


def _included_vars(play: Play, playbook_dir: Path) -> set[str] | None:
    """The names the play's ``include_vars`` tasks define; None when one is unknowable."""
    from corral.playbook.templating.included_vars import INCLUDE_VARS_ACTIONS, included_var_names

    names: set[str] = set()
    for task in play_tasks(play):
        if task.action in INCLUDE_VARS_ACTIONS:
            found = included_var_names(task, playbook_dir)
            if found is None:
                return None
            names |= found
    return names


@dataclass(frozen=True)
class _Scope:
    """What a task's check knows: the names defined for it, and whether facts are."""

    defined: set[str]
    gathered: bool
    play: Play
    base_dir: Path
    set_patterns: tuple[str, ...] = ()


def _task_problems(
    task: Task, scope: _Scope, templar: Templar, steps: StepNames
) -> Iterator[UndefinedUse]:
    # The task's own names, kept apart from the play's: copying the play's (thousands
    # of set_fact names in a big playbook) for every task made the check quadratic.
    local = set(task.vars)
    if task.role is not None:
        local |= set(task.role.defaults) | set(task.role.params) | ROLE_MAGIC
        local |= task.role.required
    if task.loop is not None:
        local |= {str(task.loop_control.get("loop_var", "item")), "ansible_loop"}
        if task.loop_control.get("index_var"):
            local.add(str(task.loop_control["index_var"]))
    if task.register:
        local.add(task.register)  # until/failed_when/changed_when see this task's own result
    defined = scope.defined
    texts = [
        *_strings(task.args),
        *_strings(task.loop),
        *_expressions(task.when),
        *_expressions(task.until),
        *_expressions(task.failed_when),
        *_expressions(task.changed_when),
    ]
    _parse_step_expressions(task, templar, steps)
    # A name guarded anywhere in the task (``when: x is defined``) is guarded for all of it.
    seen: set[str] = set().union(*(guarded_names(t) for t in texts))
    for text in texts:
        if "{{" not in text and "{%" not in text:
            continue
        with error_location(task.location):
            names = templar.variables_used(text)
            refuse_unsafe(text)
        for name in sorted(names - defined - local - seen):
            seen.add(name)
            if not _set_at_run_time(name, scope, steps):
                hint = _hint(name, defined | local, scope, steps)
                yield UndefinedUse(name, task.location, f"task {task.name!r}", hint)
    if task.action in steps.template_steps:
        found = template_file_names(task, scope.base_dir, templar)
        if found is not None:
            path, names = found
            for name in sorted(names - defined - local - seen - TEMPLATE_VARS):
                seen.add(name)
                if not _is_gathered_fact(name, scope.gathered, steps):
                    what = f"template {path} (task {task.name!r})"
                    hint = _hint(name, defined | local, scope, steps)
                    yield UndefinedUse(name, task.location, what, hint)


def _parse_step_expressions(task: Task, templar: Templar, steps: StepNames) -> None:
    """Parse a step's own expressions (assert's ``that``): an unknown filter or test fails.

    Their names are not judged: they often read what earlier tasks registered.
    """
    for argument in steps.expression_args.get(task.action, ()):
        given = task.args.get(argument)
        for text in _expressions([given] if isinstance(given, str) else given):
            with error_location(task.location):
                templar.variables_used(text)


def _set_at_run_time(name: str, scope: _Scope, steps: StepNames) -> bool:
    """A gathered fact, or a variable a step of the playbook sets (``getent_passwd``)."""
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in scope.set_patterns):
        return True
    return _is_gathered_fact(name, scope.gathered, steps)


def _is_gathered_fact(name: str, gathered: bool, steps: StepNames) -> bool:
    return gathered and (name == "ansible_facts" or steps.is_fact(name))


def _hint(name: str, local: set[str], scope: _Scope, steps: StepNames) -> str | None:
    if not name.startswith("ansible_"):
        return did_you_mean(name, local)
    if name == "ansible_user":
        # Ansible has no default either: without these, ansible_user is undefined.
        return (
            "ansible_user is a connection variable: set it in the inventory, with -e or -u, "
            "or give the play remote_user"
        )
    if name in CONNECTION_VARS or name.startswith(CONNECTION_PREFIXES):
        return f"{name} is a connection variable: set it in the inventory or with -e"
    if not scope.gathered:
        return FACT_HINT
    if steps.fact_names:
        # Compared without the shared prefix, which would make every fact look close.
        close = did_you_mean(name[8:], steps.fact_names)
        close = close and close.replace("'", "'ansible_", 1).replace(" or '", " or 'ansible_")
        known = f"'setup' does not gather {name[8:]!r} (docs/steps/setup.md lists the facts)"
        return f"{known}; {close}" if close else known
    return None


GUARD_FILTERS = ("default", "d", "mandatory")
GUARD_TESTS = ("defined", "undefined")


def guarded_names(text: str) -> set[str]:
    """Names only read under ``| default(...)`` or ``is defined``: their absence is handled."""
    if "default" not in text and "defined" not in text and "| d(" not in text:
        return set()
    from jinja2 import TemplateSyntaxError, nodes

    try:
        tree = _parser().parse(text)
    except TemplateSyntaxError:
        return set()
    guarded: set[str] = set()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        names = GUARD_FILTERS if isinstance(node, nodes.Filter) else GUARD_TESTS
        if node.name in names and node.node is not None:
            guarded.update(n.name for n in node.node.find_all(nodes.Name))
            if isinstance(node.node, nodes.Name):
                guarded.add(node.node.name)
    return guarded


def refuse_unsafe(text: str) -> None:
    """Refuse, before running, templates that reach for private attributes (sandbox escapes)."""
    if "_" not in text:
        return
    from jinja2 import nodes

    tree = _parser().parse(text)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node, "arg", None)
        attr = key if isinstance(key, str) else getattr(key, "value", None)
        if isinstance(attr, str) and attr.startswith("_"):
            raise TemplateError(
                f"unsafe template: access to the private attribute {attr!r} is refused",
                hint="templates may not reach into Python internals",
            )


@functools.cache
def _parser() -> jinja2.Environment:
    """One environment to parse with (making one per template was a third of the check)."""
    import jinja2

    # Only parsed, never rendered: autoescape is irrelevant here.
    return jinja2.Environment()  # noqa: S701


def raise_for_undefined(problems: list[UndefinedUse]) -> list[str]:
    """Raise the first problem as a :class:`PlaybookError` with its hint.

    Problems in plays that select no host are not raised: they are returned as one
    warning (with a count of the others), for the run to show.
    """
    later = [p for p in problems if not p.play_has_hosts]
    problems = [p for p in problems if p.play_has_hosts]
    if not problems:
        return [_warning(later)] if later else []
    first = problems[0]
    hint = first.hint
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise PlaybookError(
        f"undefined variable {first.name!r} in {first.what}{more}",
        hint=hint,
        location=first.location,
    )


def _warning(problems: list[UndefinedUse]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (
        f"{first.location}: undefined variable {first.name!r} in {first.what}{more}; "
        "its play selects no host, so only a host add_host or group_by add would fail on it"
    )

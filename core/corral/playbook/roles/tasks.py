"""``import_role`` and ``include_role`` tasks, and a play's ``roles:`` section."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import Location, PlaybookError
from corral.playbook import keywords as kw
from corral.playbook.args import is_templated
from corral.playbook.keyword_check import check_keywords, key_location
from corral.playbook.keyword_values import as_tuple, describe_kind, item_location, loop_of, tags_of
from corral.playbook.model import Block, Include, RoleScope, TaskNode
from corral.playbook.roles.calls import call_from_args, call_from_entry
from corral.playbook.roles.load import PlayRoles, expand_role
from corral.playbook.yaml.marked import unmark

if TYPE_CHECKING:
    from corral.playbook.loader import _Loader
    from corral.steps import StepType

__all__ = ["load_included_role", "load_play_roles", "load_role_task"]

ROLE_TASK: dict[str, Any] = {
    **kw.INHERITED,
    "name": {"type": "string"},
    "when": kw.CONDITION,
    "loop": {"type": ["array", "string"]},
    "with_items": {"type": ["array", "string"]},
    "with_list": {"type": ["array", "string"]},
    "loop_control": kw.MAPPING,
    "import_role": {"anyOf": [{"type": "string"}, kw.MAPPING]},
    "include_role": {"anyOf": [{"type": "string"}, kw.MAPPING]},
    "ansible.builtin.import_role": {"anyOf": [{"type": "string"}, kw.MAPPING]},
    "ansible.builtin.include_role": {"anyOf": [{"type": "string"}, kw.MAPPING]},
}
ROLE_ACTIONS = {
    "import_role": "import_role",
    "include_role": "include_role",
    "ansible.builtin.import_role": "import_role",
    "ansible.builtin.include_role": "include_role",
}


def _parents(inherited: Mapping[str, Any]) -> tuple[RoleScope, ...]:
    role = inherited.get("role")
    return (role, *role.parents) if isinstance(role, RoleScope) else ()


def load_play_roles(
    loader: _Loader,
    value: Any,
    uid: str,
    inherited: Mapping[str, Any],
    roles: PlayRoles,
    where: Location,
) -> tuple[TaskNode, ...]:
    """The play's ``roles:``, in order, as blocks that run before its ``tasks``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PlaybookError(
            f"'roles' must be a list, got {describe_kind(value)}",
            hint="write '- role: NAME' per role",
            location=where,
        )
    nodes: list[TaskNode] = []
    for index, entry in enumerate(value):
        call = call_from_entry(entry, item_location(value, index, where))
        if is_templated(call.name):
            raise PlaybookError(
                f"role name {call.name!r} holds a template",
                hint="use include_role for a role chosen at run time",
                location=call.where,
            )
        roles.names.append(str(call.name))
        block = expand_role(loader, roles, call, f"{uid}/{index}", inherited, dedupe=True)
        if block is not None:
            nodes.append(block)
    return tuple(nodes)


def load_role_task(
    loader: _Loader,
    node: Mapping[str, Any],
    uid: str,
    inherited: Mapping[str, Any],
    where: Location,
    stack: tuple[Path, ...],
) -> TaskNode:
    """An ``import_role`` (its tasks now, as a block) or ``include_role`` (an include)."""
    check_keywords(node, ROLE_TASK, "role task keyword", where)
    keys = [k for k in node if k in ROLE_ACTIONS]
    if len(keys) > 1:
        raise PlaybookError(
            "task has more than one step", location=key_location(node, keys[1], where)
        )
    key = ROLE_ACTIONS[keys[0]]
    arg_where = key_location(node, keys[0], where)
    roles = loader.play_roles(inherited)
    if key == "import_role":
        loop, _ = loop_of(node)
        if loop is not None:
            raise PlaybookError(
                "import_role cannot loop", hint="use include_role", location=arg_where
            )
        keywords = {k: v for k, v in node.items() if k in kw.INHERITED or k == "when"}
        call = call_from_args(node[keys[0]], key, arg_where, keywords)
        if is_templated(call.name):
            raise PlaybookError(
                "import_role needs a role name without templates",
                hint="use include_role for a dynamic name",
                location=arg_where,
            )
        roles.names.append(str(call.name))
        block = expand_role(
            loader,
            roles,
            call,
            uid,
            inherited,
            dedupe=call.allow_duplicates is False,
            parents=_parents(inherited),
            stack=stack,
        )
        empty = Block(name=f"role {call.name}", block=(), rescue=(), always=(), location=where)
        return block or empty
    return _include_role(loader, roles, node, keys[0], uid, inherited, where, arg_where, stack)


def _include_role(
    loader: _Loader,
    roles: PlayRoles,
    node: Mapping[str, Any],
    action: str,
    uid: str,
    inherited: Mapping[str, Any],
    where: Location,
    arg_where: Location,
    stack: tuple[Path, ...],
) -> Include:
    call = call_from_args(node[action], "include_role", arg_where, {})
    passed = {k: v for k, v in node.items() if k in kw.INHERITED and k not in ("tags", "vars")}
    merged = loader._inherit(inherited, {**passed, **call.apply})
    merged["when"] = (*merged["when"], *as_tuple(call.apply.get("when")))
    tasks = None
    if not is_templated(node[action]):  # else loaded per host, once its arguments are rendered
        block = expand_role(
            loader,
            roles,
            call,
            uid,
            merged,
            dedupe=call.allow_duplicates is False,
            parents=_parents(inherited),
            stack=stack,
        )
        tasks = () if block is None else (block,)
    loop, _ = loop_of(node)
    args = node[action]
    return Include(
        file=unmark(call.name),
        static=False,
        location=where,
        tasks=tasks,
        name=str(node.get("name") or f"include_role : {call.name}"),
        when=unmark(as_tuple(node.get("when"))),
        loop=unmark(loop),
        loop_control=unmark(dict(node.get("loop_control") or {})),
        vars=unmark(dict(node.get("vars") or {})),
        tags=tags_of(node.get("tags")),
        base_dir=roles.playbook_dir,
        inherited=unmark(merged),
        uid=uid,
        stack=stack,
        role=inherited.get("role"),
        role_args=unmark(dict(args)) if isinstance(args, Mapping) else {"name": str(args)},
    )


def load_included_role(
    steps: Mapping[str, StepType], include: Include, args: Mapping[str, Any]
) -> tuple[TaskNode, ...]:
    """The tasks of an ``include_role`` whose arguments held templates, once rendered."""
    from corral.playbook.loader import _Loader

    loader = _Loader(steps)
    roles = PlayRoles(include.base_dir, include.inherited.get("role_env"))
    call = call_from_args(args, "include_role", include.location, {})
    parents = (include.role, *include.role.parents) if include.role else ()
    block = expand_role(
        loader,
        roles,
        call,
        include.uid,
        include.inherited,
        dedupe=False,
        parents=parents,
        stack=include.stack,
    )
    return () if block is None else (block,)

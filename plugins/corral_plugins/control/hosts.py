"""``group_by`` and ``add_host``: grow the run's inventory while it runs, as in Ansible.

Both run on the controller and touch no host. They return what to add as
:class:`~corral.AddHost` values; the engine adds them once the task has ended (see
:mod:`corral.engine.addhosts`), so the ``groups`` variable, the host's
``group_names`` and the variables of its new groups change for the tasks after it, and
a later play's ``hosts:`` may name the new groups and hosts. ``changed`` says whether
the inventory gained something, as Ansible reports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral import AddHost, RegisterStep, StepContext, StepResult, StepType

__all__ = ["ADD_HOST_SCHEMA", "GROUP_BY_SCHEMA", "add_host", "group_by", "register_steps"]

_NAMES: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
}

GROUP_BY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key"],
    "properties": {
        "key": {
            "type": "string",
            "minLength": 1,
            "description": "The group to put the host in (spaces become `-`), made when new; "
            'often a template such as `os_{{ ansible_facts["distribution"] }}`.',
        },
        "parents": {
            **_NAMES,
            "default": ["all"],
            "description": "The groups a new group becomes a child of.",
        },
    },
}

ADD_HOST_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "The host to add."},
        "host": {"type": "string", "minLength": 1, "description": "Alias of `name`."},
        "hostname": {"type": "string", "minLength": 1, "description": "Alias of `name`."},
        "groups": {
            **_NAMES,
            "description": "Groups to put the host in (a list or a comma-separated string), "
            "made when new; without any, the host is in `ungrouped`.",
        },
        "group": {**_NAMES, "description": "Alias of `groups`."},
        "groupname": {**_NAMES, "description": "Alias of `groups`."},
    },
    "anyOf": [{"required": ["name"]}, {"required": ["host"]}, {"required": ["hostname"]}],
}
_ADD_HOST_KEYS = frozenset(ADD_HOST_SCHEMA["properties"])


def group_by(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Put the task's host in the group ``key``."""
    host = str(ctx.vars.get("inventory_hostname", ctx.host))
    group = args["key"].replace(" ", "-")
    parents = [name.replace(" ", "-") for name in _names(args.get("parents", ["all"]))]
    known = _groups(ctx)
    return StepResult(
        changed=host not in known.get(group, ()),
        data={"add_group": group, "parent_groups": parents},
        add_hosts=(AddHost(host, groups=(group,), parents=tuple(parents)),),
    )


def add_host(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Add a host (with variables) to the inventory, in ``groups``."""
    name = str(args.get("name") or args.get("host") or args.get("hostname"))
    groups = _names(args.get("groups") or args.get("group") or args.get("groupname") or [])
    variables = {key: value for key, value in args.items() if key not in _ADD_HOST_KEYS}
    known = _groups(ctx)
    new = name not in known.get("all", ()) or any(name not in known.get(g, ()) for g in groups)
    return StepResult(
        changed=new,
        data={"add_host": {"host_name": name, "groups": groups, "host_vars": variables}},
        add_hosts=(AddHost(name, groups=tuple(groups), variables=variables),),
    )


def _groups(ctx: StepContext) -> Mapping[str, Sequence[str]]:
    """The ``groups`` variable: the inventory as the task sees it."""
    groups = ctx.render("{{ groups }}", None)
    return groups if isinstance(groups, Mapping) else {}


def _names(value: Any) -> list[str]:
    """A list of names from a list or a comma-separated string."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def register_steps(register: RegisterStep) -> None:
    """Register ``group_by`` and ``add_host``."""
    register(
        StepType(
            name="group_by",
            run=group_by,
            schema=GROUP_BY_SCHEMA,
            check_mode=True,
            on="controller",
            description="Put the host in a group made from its variables, for later plays.",
        )
    )
    register(
        StepType(
            name="add_host",
            run=add_host,
            schema=ADD_HOST_SCHEMA,
            check_mode=True,
            on="controller",
            bypass_host_loop=True,
            description="Add a host (and its variables) to the inventory, for later plays.",
        )
    )

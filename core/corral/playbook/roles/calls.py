"""How a role is referenced: a ``roles:`` entry, a dependency in ``meta/main.yml``, or the
arguments of ``import_role``/``include_role``; each becomes a :class:`RoleCall`."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import Location, PlaybookError, did_you_mean
from corral.playbook import keywords as kw
from corral.playbook.keyword_values import describe_kind

__all__ = ["ROLE_ARGS", "RoleCall", "call_from_args", "call_from_entry"]

# Keywords of a ``roles:`` entry (Ansible's role attributes); every other key is a role
# param. Those corral has no use for (``port``, ``connection``...) are still keywords,
# as in Ansible, so they never become variables by accident.
ENTRY_KEYWORDS = frozenset(
    {
        *kw.INHERITED,
        "when",
        "role",
        "name",
        "port",
        "connection",
        "remote_user",
        "module_defaults",
        "throttle",
        "become_exe",
        "become_flags",
        "delegate_facts",
    }
)
# What import_role and include_role accept.
ROLE_ARGS = frozenset(
    {
        "name",
        "tasks_from",
        "vars_from",
        "defaults_from",
        "handlers_from",
        "public",
        "allow_duplicates",
        "apply",
        "rolespec_validate",
    }
)


@dataclass(frozen=True)
class RoleCall:
    """One use of a role, with what the caller gives it."""

    name: Any  # a template for include_role
    where: Location
    params: Mapping[str, Any] = field(default_factory=dict)
    keywords: Mapping[str, Any] = field(default_factory=dict)  # when, tags, become, vars...
    tasks_from: str = "main"
    vars_from: str = "main"
    defaults_from: str = "main"
    handlers_from: str = "main"
    allow_duplicates: bool | None = None  # None: the role's meta/main.yml decides
    public: bool = True  # defaults and vars reach the rest of the play
    apply: Mapping[str, Any] = field(default_factory=dict)  # include_role: keywords for its tasks


def call_from_entry(entry: Any, where: Location, what: str = "roles entry") -> RoleCall:
    """A ``roles:`` entry or a ``dependencies:`` item: a name, or a mapping with ``role:``."""
    if isinstance(entry, str):
        return RoleCall(name=entry, where=where)
    if not isinstance(entry, Mapping):
        raise PlaybookError(
            f"a {what} must be a role name or a mapping, got {describe_kind(entry)}",
            hint="write '- role: NAME' with its params and keywords below",
            location=where,
        )
    name = entry.get("role", entry.get("name"))
    if not isinstance(name, str) or not name:
        raise PlaybookError(f"{what} has no role name", hint="add 'role: NAME'", location=where)
    keywords = {k: v for k, v in entry.items() if k in ENTRY_KEYWORDS and k not in ("role",)}
    keywords.pop("name", None)
    params = {k: v for k, v in entry.items() if k not in ENTRY_KEYWORDS}
    return RoleCall(name=name, where=where, params=params, keywords=keywords, public=True)


def _key_values(text: str, where: Location) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for part in shlex.split(text):
        key, sep, value = part.partition("=")
        if not sep:
            if "name" in args:
                raise PlaybookError(f"cannot read role arguments {text!r}", location=where)
            args["name"] = part
        else:
            args[key] = value
    return args


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1", "y")
    return bool(value)


def call_from_args(args: Any, key: str, where: Location, keywords: Mapping[str, Any]) -> RoleCall:
    """The arguments of ``import_role``/``include_role`` (``key``), with the task's keywords."""
    if isinstance(args, str):
        args = _key_values(args, where)
    if not isinstance(args, Mapping):
        raise PlaybookError(
            f"{key} takes a mapping, got {describe_kind(args)}",
            hint=f"write '{key}: {{name: ROLE}}'",
            location=where,
        )
    unknown = sorted(str(k) for k in args if k not in ROLE_ARGS)
    if unknown:
        raise PlaybookError(
            f"unknown {key} argument {unknown[0]!r}",
            hint=did_you_mean(unknown[0], ROLE_ARGS)
            or f"{key} takes {', '.join(sorted(ROLE_ARGS))}",
            location=where,
        )
    if not args.get("name"):
        raise PlaybookError(f"{key} needs 'name'", hint=f"{key}: {{name: ROLE}}", location=where)
    apply = args.get("apply") or {}
    if apply and key != "include_role":
        raise PlaybookError("'apply' is for include_role only", location=where)
    if not isinstance(apply, Mapping):
        raise PlaybookError("include_role 'apply' takes a mapping of keywords", location=where)
    allow = args.get("allow_duplicates")
    return RoleCall(
        name=args["name"],
        where=where,
        keywords=keywords,
        tasks_from=str(args.get("tasks_from", "main")),
        vars_from=str(args.get("vars_from", "main")),
        defaults_from=str(args.get("defaults_from", "main")),
        handlers_from=str(args.get("handlers_from", "main")),
        allow_duplicates=None if allow is None else _flag(allow, True),
        public=_flag(args.get("public"), key == "import_role"),
        apply=dict(apply),
    )

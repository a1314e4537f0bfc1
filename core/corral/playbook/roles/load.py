"""Turn a role into tasks and handlers: ``roles:``, ``import_role``, ``include_role`` and
the ``dependencies`` of ``meta/main.yml``.

A role's tasks become one :class:`Block` (its dependencies' blocks first), each task
carrying a :class:`RoleScope` (defaults, params, path). Role vars and the caller's
``vars:`` sit at the bottom of every task's ``vars``, so they rank above play vars and
below block and task vars, as in Ansible. A role used twice with the same params in a
play runs once, unless ``allow_duplicates`` says otherwise. Handlers are loaded once per
role and are notifiable by name and as ``role_name : handler name``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import Location, PlaybookError
from corral.playbook.include_chain import check_include_chain
from corral.playbook.keyword_values import as_tuple, item_location
from corral.playbook.model import Block, Include, RoleScope, Task, TaskNode
from corral.playbook.roles.calls import RoleCall, call_from_entry
from corral.playbook.roles.files import find_role_file, load_vars_path
from corral.playbook.roles.search import collection_of, find_role
from corral.playbook.yaml.marked import unmark

if TYPE_CHECKING:
    from corral.playbook.loader import _Loader

__all__ = ["PlayRoles", "expand_role", "handler_tasks"]


@dataclass
class PlayRoles:
    """What a play's roles add to it, gathered while its tasks load."""

    playbook_dir: Path
    environ: Mapping[str, str] | None = None  # for ANSIBLE_ROLES_PATH; None: os.environ
    collections: tuple[str, ...] = ()  # the play's collections: keyword
    seen: set[tuple[str, ...]] = field(default_factory=set)
    handlers: list[Task | Include] = field(default_factory=list)
    handler_keys: set[tuple[Path, str]] = field(default_factory=set)
    names: list[str] = field(default_factory=list)  # roles: and import_role
    all_names: list[str] = field(default_factory=list)  # with dependencies
    defaults: dict[str, Any] = field(default_factory=dict)  # exported to the whole play
    vars: dict[str, Any] = field(default_factory=dict)


def _dump(value: Any) -> str:
    return json.dumps(unmark(value), sort_keys=True, default=str)


def _file_where(path: Path) -> Location:
    from corral.playbook.loader import display_path

    return Location(display_path(path), 1, 1)


def _role_vars(
    loader: _Loader, path: Path, subdir: str, name: str, where: Location
) -> dict[str, Any]:
    found = find_role_file(path, subdir, name)
    if found is None:
        if name != "main":
            raise PlaybookError(
                f"{subdir} file {name!r} not found in role {path.name}",
                hint=f"looked for {path / subdir / name}.yml",
                location=where,
            )
        return {}
    return dict(unmark(load_vars_path(found, loader._read, where)))


def _meta(loader: _Loader, path: Path) -> Mapping[str, Any]:
    found = find_role_file(path, "meta", "main")
    if found is None or not os.path.isfile(found):
        return {}
    data = loader._read(found, _file_where(found))
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise PlaybookError("meta/main.yml must hold a mapping", location=_file_where(found))
    return data


def expand_role(
    loader: _Loader,
    roles: PlayRoles,
    call: RoleCall,
    uid: str,
    inherited: Mapping[str, Any],
    *,
    dedupe: bool,
    chain: tuple[Path, ...] = (),
    parents: tuple[RoleScope, ...] = (),
    stack: tuple[Path, ...] = (),
    collect: dict[str, dict[str, Any]] | None = None,
) -> Block | None:
    """The role's tasks (dependencies first) as a block; None when the play already ran it.

    ``chain`` holds the roles whose dependencies are being expanded, to refuse cycles;
    ``collect`` receives this role's defaults and vars (with its dependencies'), which
    a role that depends on it sees below its own, as in Ansible.
    """
    name = str(call.name)
    # A collection role's dependencies are found in its own collection first.
    own = [c for p in parents[:1] if (c := collection_of(p.path))]
    collections = (*own, *roles.collections)
    path = find_role(name, roles.playbook_dir, call.where, roles.environ, collections).resolve()
    if path in chain:
        names = [p.name for p in chain[chain.index(path) :]]
        raise PlaybookError(
            f"role dependency cycle: {' -> '.join([*names, path.name])}",
            hint="remove one of the dependencies in meta/main.yml",
            location=call.where,
        )
    meta = _meta(loader, path)
    allow = call.allow_duplicates
    if allow is None:
        allow = bool(meta.get("allow_duplicates", False))
    key = (str(path), call.tasks_from, call.vars_from, _dump(call.params), _dump(call.keywords))
    roles.all_names.append(name)
    # A role that already ran in this play is skipped, but its dependencies are still
    # considered one by one (one that allows duplicates runs again), as in Ansible.
    duplicate = dedupe and not allow and key in roles.seen
    roles.seen.add(key)
    parent = parents[0] if parents else None
    defaults = _role_vars(loader, path, "defaults", call.defaults_from, call.where)
    role_vars = _role_vars(loader, path, "vars", call.vars_from, call.where)
    spec, spec_where = _argument_spec(loader, path, meta, call)
    required = frozenset(
        str(k) for k, v in (spec or {}).get("options", {}).items() if (v or {}).get("required")
    )
    scope_defaults = {**(parent.defaults if parent else {}), **defaults}
    scope = RoleScope(
        name=name,
        path=path,
        defaults=scope_defaults,
        params={**(parent.params if parent else {}), **unmark(dict(call.params))},
        parents=parents,
        required=required,
    )
    if call.public:
        roles.defaults.update(defaults)
        roles.vars.update(role_vars)
    merged = loader._inherit(inherited, {k: v for k, v in call.keywords.items() if k != "vars"})
    merged["when"] = (*merged["when"], *as_tuple(call.keywords.get("when")))
    merged["vars"] = {
        **merged["vars"],
        **role_vars,
        **unmark(dict(call.keywords.get("vars") or {})),
    }
    merged["role"] = scope
    found: dict[str, dict[str, Any]] = {"defaults": {}, "vars": {}}
    deps = _dependencies(
        loader, roles, meta, uid, merged, (*chain, path), scope, stack, path, found, call.public
    )
    if found["defaults"] or found["vars"]:
        # Filled in once the dependencies are loaded: theirs rank below the defaults of
        # this role and of the roles that called it (Role.get_default_vars in Ansible).
        ordered = {**found["defaults"], **scope_defaults}
        scope_defaults.clear()
        scope_defaults.update(ordered)
        merged["vars"] = {
            **merged["vars"],
            **found["vars"],
            **role_vars,
            **unmark(dict(call.keywords.get("vars") or {})),
        }
    if collect is not None:
        collect["defaults"].update({**found["defaults"], **defaults})
        collect["vars"].update({**found["vars"], **role_vars})
    if duplicate and not deps:
        return None
    tasks = () if duplicate else _role_tasks(loader, path, call, uid, merged, stack)
    if not duplicate:
        checks = _argument_check(loader, spec, spec_where, path, call, uid, merged, stack)
        tasks = (*checks, *tasks)
    _role_handlers(loader, roles, path, call, uid, merged, scope)
    return Block(
        name=f"role {name}",
        block=(*deps, *tasks),
        rescue=(),
        always=(),
        location=call.where,
        uid=uid,
    )


def _dependencies(
    loader: _Loader,
    roles: PlayRoles,
    meta: Mapping[str, Any],
    uid: str,
    inherited: Mapping[str, Any],
    chain: tuple[Path, ...],
    scope: RoleScope,
    stack: tuple[Path, ...],
    path: Path,
    collect: dict[str, dict[str, Any]],
    public: bool,
) -> list[TaskNode]:
    value = meta.get("dependencies") or []
    found = find_role_file(path, "meta", "main")
    where = _file_where(found) if found else Location(str(path))
    if not isinstance(value, list):
        raise PlaybookError("meta 'dependencies' must be a list of roles", location=where)
    nodes: list[TaskNode] = []
    for index, entry in enumerate(value):
        call = call_from_entry(entry, item_location(value, index, where), "role dependency")
        call = replace(call, public=public)  # exported to the play only with their role
        block = expand_role(
            loader,
            roles,
            call,
            f"{uid}/dep{index}",
            inherited,
            dedupe=True,
            chain=chain,
            parents=(scope, *scope.parents),
            stack=stack,
            collect=collect,
        )
        if block is not None:
            nodes.append(block)
    return nodes


def _role_tasks(
    loader: _Loader,
    path: Path,
    call: RoleCall,
    uid: str,
    inherited: Mapping[str, Any],
    stack: tuple[Path, ...],
) -> tuple[TaskNode, ...]:
    found = find_role_file(path, "tasks", call.tasks_from)
    if found is None or not os.path.isfile(found):
        if call.tasks_from != "main":
            raise PlaybookError(
                f"tasks file {call.tasks_from!r} not found in role {path.name}",
                hint=f"looked for {path / 'tasks' / call.tasks_from}.yml",
                location=call.where,
            )
        return ()
    resolved = found.resolve()
    if resolved in stack:
        # A role that imports or includes itself, directly or through other roles.
        files = [*stack[stack.index(resolved) :], resolved]
        names = [f.parent.parent.name if f.parent.name == "tasks" else f.name for f in files]
        raise PlaybookError(
            f"role cycle: {' -> '.join(names)}",
            hint="a role cannot import or include itself, directly or not",
            location=call.where,
        )
    check_include_chain(resolved, stack, call.where)
    data = loader._read(found, call.where)
    return loader.load_tasks(
        data, f"{uid}/tasks", inherited, found.parent, _file_where(found), (*stack, resolved)
    )


ARGSPEC_STEP = "validate_argument_spec"


def _argument_spec(
    loader: _Loader, path: Path, meta: Mapping[str, Any], call: RoleCall
) -> tuple[Mapping[str, Any] | None, Location]:
    """The argument spec of the role's entry point (``meta/argument_specs.yml``), if any."""
    found = find_role_file(path, "meta", "argument_specs")
    specs: Any = meta.get("argument_specs")
    where = call.where
    if found is not None and os.path.isfile(found):
        where = _file_where(found)
        data = loader._read(found, where)
        specs = data.get("argument_specs") if isinstance(data, Mapping) else None
    entry = specs.get(call.tasks_from) if isinstance(specs, Mapping) else None
    if not isinstance(entry, Mapping) or not isinstance(entry.get("options") or {}, Mapping):
        return None, where
    return unmark(dict(entry)), where


def _argument_check(
    loader: _Loader,
    entry: Mapping[str, Any] | None,
    where: Location,
    path: Path,
    call: RoleCall,
    uid: str,
    inherited: Mapping[str, Any],
    stack: tuple[Path, ...],
) -> tuple[TaskNode, ...]:
    """Ansible's first task of a role with an argument spec for its entry point."""
    if entry is None or ARGSPEC_STEP not in loader.steps:
        return ()
    name = f"Validating arguments against arg spec '{call.tasks_from}'"
    if entry.get("short_description"):
        name += f" - {entry['short_description']}"
    node = {
        "name": name,
        "tags": ["always"],
        ARGSPEC_STEP: {
            "argument_spec": dict(entry.get("options") or {}),
            "provided_arguments": dict(call.params),
        },
    }
    return (loader.load_task(node, f"{uid}/argspec", inherited, path, where, stack),)


def _role_handlers(
    loader: _Loader,
    roles: PlayRoles,
    path: Path,
    call: RoleCall,
    uid: str,
    inherited: Mapping[str, Any],
    scope: RoleScope,
) -> None:
    key = (path, call.handlers_from)
    if key in roles.handler_keys:
        return
    roles.handler_keys.add(key)
    found = find_role_file(path, "handlers", call.handlers_from)
    if found is None or not os.path.isfile(found):
        if call.handlers_from != "main":
            raise PlaybookError(
                f"handlers file {call.handlers_from!r} not found in role {path.name}",
                location=call.where,
            )
        return
    data = loader._read(found, call.where)
    nodes = loader.load_tasks(
        data, f"{uid}/handlers", inherited, found.parent, _file_where(found), ()
    )
    names = {scope.name, scope.short_name}
    for handler in handler_tasks(nodes, _file_where(found)):
        if isinstance(handler, Task):
            # Shown as Ansible shows it ("web : restart"), notified by either name.
            name = handler.name.removeprefix(f"{scope.name} : ")
            prefixed = tuple(f"{n} : {name}" for n in sorted(names))
            topics = (*handler.listen, name, *prefixed)
            roles.handlers.append(replace(handler, name=f"{scope.name} : {name}", listen=topics))
        else:
            roles.handlers.append(handler)


def handler_tasks(nodes: tuple[TaskNode, ...], where: Location) -> list[Task | Include]:
    """Handlers from a task list: ``import_tasks`` brings its tasks as handlers, each
    notifiable by name; an ``include_tasks`` handler runs its whole file when notified."""
    found: list[Task | Include] = []
    for node in nodes:
        if isinstance(node, Task):
            found.append(node)
        elif isinstance(node, Include) and node.static and node.tasks is not None:
            found.extend(handler_tasks(node.tasks, where))
        elif isinstance(node, Include):
            found.append(node)
        else:
            raise PlaybookError(
                "handlers must be tasks or includes, not blocks", location=node.location
            )
    return found

"""The inventory model: groups, hosts, their relations, and the variables each host sees.

:class:`Inventory` is what every source adds to (it implements
:class:`~corral.inventory.source.InventoryBuilder`) and what the engine queries.
It follows Ansible's ``InventoryData``: ``all`` and ``ungrouped`` always exist,
a group without a parent becomes a child of ``all``, a host in no group lands in
``ungrouped``, and a group can never become its own descendant.

Variables follow Ansible's order, lowest first: ``all`` from the inventory, the
host's other groups from the inventory (sorted by depth, then
``ansible_group_priority``, then name), ``group_vars/all`` next to each source
and then next to the playbook, the same for the host's other groups, the
host's own inventory variables, then ``host_vars`` next to each source and next
to the playbook. Merged results are cached per set of groups and per host.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections import deque
from collections.abc import Iterable, KeysView, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import InventoryError
from corral.inventory.entities import LOCALHOST_NAMES, Group, Host
from corral.inventory.ranges import is_ip_address

if TYPE_CHECKING:
    from corral.inventory.connvars import ConnectionVars
    from corral.inventory.varfiles import VarsDir

__all__ = ["Inventory", "as_inventory"]

_INVALID_GROUP_CHARS = re.compile(r"^[\d\W]|[^\w]")


class Inventory:
    """Groups and hosts from every source, queried by name or by host pattern."""

    def __init__(self, cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.groups: dict[str, Group] = {}
        self._hosts: dict[str, Host] = {}
        self.warnings: list[str] = []
        self.cwd = cwd if cwd is not None else Path.cwd()
        # The environment the inventory is loaded in: readers take their settings from it.
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.current_source: str | None = None  # the file being read; gives inventory_file
        self._source_dir: tuple[str | None, str | None] = (None, None)
        self.vars_dirs: list[VarsDir] = []  # group_vars/host_vars next to each source
        self.playbook_vars: VarsDir | None = None  # ... and next to the playbook
        self._localhost: Host | None = None
        self._ready = False
        self._clear_caches()
        self.add_group("all")
        self.add_group("ungrouped")
        self.add_child("all", "ungrouped")

    # ---------------------------------------------------------------- building

    def add_group(self, name: str) -> None:
        """Add a group if it is new."""
        if not isinstance(name, str) or not name:
            raise InventoryError(f"invalid group name {name!r}: expected a non-empty string")
        if name not in self.groups:
            self.groups[name] = Group(name)
            self._changed()

    def add_host(self, name: str, group: str | None = None, port: int | None = None) -> None:
        """Add a host if it is new (with ``port`` as ``ansible_port``), and put it in ``group``."""
        target = None
        if group is not None:
            target = self.groups.get(group)
            if target is None:
                raise InventoryError(f"cannot add host {name!r} to unknown group {group!r}")
        host = self._hosts.get(name)
        if host is None:
            host = self._new_host(name, port)
        if target is not None:
            self._put_host(target, host)

    def add_hosts(
        self,
        names: Iterable[str],
        group: str | None,
        variables: Mapping[str, Any],
        port: int | None = None,
    ) -> None:
        """Add hosts to ``group``, each with ``variables`` (the readers' common case).

        The same as :meth:`add_host` and :meth:`set_variable` per host, in one loop
        because a range line can name thousands of hosts.
        """
        target = None
        if group is not None:
            target = self.groups.get(group)
            if target is None:
                raise InventoryError(f"cannot add hosts to unknown group {group!r}")
        hosts, groups = self._hosts, self.groups
        for name in names:
            host = hosts.get(name)
            if host is None:
                host = self._new_host(name, port)
            if target is not None and name not in target._host_set:
                target.hosts.append(name)
                target._host_set.add(name)
                host.groups.append(target.name)
            if name in groups:
                # As in Ansible, a host named like a group gives its variables to the group.
                for key, value in variables.items():
                    self.set_variable(name, key, value)
            elif variables:
                host.vars.update(variables)
        if self._ready:
            self._changed()

    def _new_host(self, name: str, port: int | None) -> Host:
        if not isinstance(name, str) or not name:
            raise InventoryError(f"invalid host name {name!r}: expected a non-empty string")
        source = self.current_source
        if source != self._source_dir[0]:
            self._source_dir = (source, os.path.dirname(source) if source else None)
        host = self._hosts[name] = Host(name)
        host.vars = {"inventory_file": source, "inventory_dir": self._source_dir[1]}
        if port:
            host.vars["ansible_port"] = int(port)
        if name in LOCALHOST_NAMES:
            if self._localhost is None or self._localhost.implicit:
                self._localhost = host
            else:
                self.warn(
                    f"a second localhost-like host {name!r} was found; "
                    f"the first, {self._localhost.name!r}, stays the localhost"
                )
        if self._ready:
            self._changed()
        return host

    def add_child(self, parent: str, child: str) -> None:
        """Make group ``child`` (or host ``child``) a member of group ``parent``."""
        group = self.groups.get(parent)
        if group is None:
            raise InventoryError(f"{parent!r} is not a known group")
        if child in self.groups:
            self._add_child_group(group, self.groups[child])
            return
        host = self._hosts.get(child)
        if host is None:
            raise InventoryError(f"{child!r} is not a known host or group")
        self._put_host(group, host)

    def set_variable(self, entity: str, key: str, value: Any) -> None:
        """Set ``key`` on the group named ``entity``, else on the host of that name."""
        group = self.groups.get(entity)
        if group is not None:
            if key == "ansible_group_priority":
                group.priority = _priority(value, group.priority)
            else:
                group.vars[key] = value
        else:
            host = self._hosts.get(entity)
            if host is None:
                raise InventoryError(f"cannot set {key!r}: no group or host named {entity!r}")
            host.vars[key] = value
        if self._ready:
            self._changed()

    def warn(self, message: str) -> None:
        """Record a warning once; the CLI prints them as ``warning: ...``."""
        if message not in self.warnings:
            self.warnings.append(message)

    def _put_host(self, group: Group, host: Host) -> None:
        if host.name in group._host_set:
            return
        group.hosts.append(host.name)
        group._host_set.add(host.name)
        host.groups.append(group.name)
        if self._ready:
            self._changed()

    def _add_child_group(self, parent: Group, child: Group) -> None:
        if child.name in parent.children:
            return
        if child is parent:
            raise InventoryError(f"group {child.name!r} cannot be a child of itself")
        path = self._path_up(parent, child.name)
        if path is not None:
            chain = " -> ".join([child.name, *reversed(path), child.name])
            raise InventoryError(
                f"group {child.name!r} would become its own descendant ({chain})",
                hint="remove one of the children: entries that form this loop",
            )
        parent.children.append(child.name)
        if parent.name not in child.parents:
            child.parents.append(parent.name)
        self._changed()

    def _path_up(self, start: Group, target: str) -> list[str] | None:
        """Group names from ``start`` up to ancestor ``target`` (exclusive), or None."""
        came_from: dict[str, str | None] = {start.name: None}
        queue = deque([start.name])
        while queue:
            name = queue.popleft()
            for parent in self.groups[name].parents:
                if parent in came_from:
                    continue
                came_from[parent] = name
                if parent == target:
                    path: list[str] = []
                    step: str | None = name
                    while step is not None:
                        path.append(step)
                        step = came_from[step]
                    return path[::-1]
                queue.append(parent)
        return None

    # ------------------------------------------------------ finishing (reconcile)

    def finish(self) -> None:
        """Apply Ansible's rules once every source is read (``reconcile_inventory``)."""
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name)
        self._clear_caches()
        self._order_groups()
        ungrouped = self.groups["ungrouped"]
        leaving = []
        for host in self._hosts.values():
            closure = self._closure(host)
            if "ungrouped" in closure:
                if closure - {"all", "ungrouped"} and host.name in ungrouped._host_set:
                    leaving.append(host)
            elif not closure or closure == {"all"}:
                self._put_host(ungrouped, host)
        if leaving:
            names = {h.name for h in leaving}
            ungrouped.hosts = [h for h in ungrouped.hosts if h not in names]
            ungrouped._host_set -= names
            for host in leaving:
                host.groups.remove("ungrouped")
        for name in self.groups.keys() & self._hosts.keys():
            self.warn(f"found both a group and a host named {name!r}")
        self._warn_group_names()
        self._ready = True

    def _order_groups(self) -> None:
        """Set each group's depth (longest path from ``all``) and its ancestors."""
        pending = {name: len(group.parents) for name, group in self.groups.items()}
        queue = deque(name for name, count in pending.items() if count == 0)
        ancestors: dict[str, frozenset[str]] = {}
        while queue:
            name = queue.popleft()
            group = self.groups[name]
            group.depth = max((self.groups[p].depth + 1 for p in group.parents), default=0)
            ancestors[name] = frozenset().union(*(ancestors[p] | {p} for p in group.parents))
            for child in group.children:
                pending[child] -= 1
                if pending[child] == 0:
                    queue.append(child)
        self._ancestors.update(ancestors)

    def _closure(self, host: Host) -> frozenset[str]:
        """Every group ``host`` belongs to, directly or through a child group."""
        key = tuple(host.groups)
        closure = self._closures.get(key)
        if closure is None:
            closure = frozenset(host.groups).union(*(self._ancestors[g] for g in host.groups))
            self._closures[key] = closure
        return closure

    def _warn_group_names(self) -> None:
        bad = [name for name in self.groups if _INVALID_GROUP_CHARS.search(name)]
        if bad:
            shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            self.warn(
                f"group names with characters not valid in variable names (kept as written): "
                f"{shown}"
            )

    def _changed(self) -> None:
        """Forget what was derived once the inventory changes after :meth:`finish`."""
        if self._ready:
            self._ready = False
            self._clear_caches()

    def _clear_caches(self) -> None:
        self._ancestors: dict[str, frozenset[str]] = {}
        self._closures: dict[tuple[str, ...], frozenset[str]] = {}
        self._sorted_groups: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._group_layers: dict[tuple[str, ...], dict[str, Any]] = {}
        self._host_vars: dict[str, dict[str, Any]] = {}
        self._group_hosts: dict[str, list[str]] = {}
        self.pattern_cache: dict[str, list[str]] = {}

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.finish()

    # ----------------------------------------------------------------- queries

    @property
    def hosts(self) -> list[str]:
        """Every host name, in the order the sources first named them (a fresh list)."""
        return list(self._hosts)

    def get_host(self, name: str) -> Host | None:
        """The host called ``name``; a localhost name gives the implicit localhost if needed."""
        host = self._hosts.get(name)
        if host is None and name in LOCALHOST_NAMES:
            if self._localhost is None:
                self._localhost = Host(name, implicit=True)
                self._localhost.vars.update(
                    ansible_python_interpreter=sys.executable or "/usr/bin/python3",
                    ansible_connection="local",
                )
            host = self._localhost
        return host

    def host_names(self) -> KeysView[str]:
        """Every host name, in order, as a set-like view (cheap membership tests)."""
        return self._hosts.keys()

    def has_host(self, name: str) -> bool:
        """Whether a source named host ``name`` (the implicit localhost does not count)."""
        return name in self._hosts

    def group_hosts(self, name: str) -> list[str]:
        """The hosts of group ``name`` and of all its descendants, without repeats.

        Direct members come first, then each level of child groups in order.
        """
        self._ensure_ready()
        cached = self._group_hosts.get(name)
        if cached is None:
            if name not in self.groups:
                raise InventoryError(f"unknown group {name!r}")
            order = [name]
            seen = {name}
            level = [name]
            while level:
                below = []
                for group_name in level:
                    for child in self.groups[group_name].children:
                        if child not in seen:
                            seen.add(child)
                            below.append(child)
                order.extend(below)
                level = below
            cached = _unique(host for g in order for host in self.groups[g].hosts)
            self._group_hosts[name] = cached
        return cached

    def groups_mapping(self) -> dict[str, list[str]]:
        """What Ansible's ``groups`` variable holds: every group and all its hosts."""
        return {name: list(self.group_hosts(name)) for name in self.groups}

    def host_groups(self, name: str) -> list[str]:
        """``group_names``: the sorted groups of host ``name``, ``all`` left out."""
        host = self._require_host(name)
        return sorted(g for g in self._closure(host) if g != "all")

    def select(self, pattern: str | Sequence[str], *, limit: str | None = None) -> list[str]:
        """Host names matching an Ansible host pattern, in Ansible's order, within ``limit``.

        ``limit`` is a ``--limit`` value: a pattern, or ``@file`` with one pattern a line.
        A part that matches nothing adds a warning and matches no host.
        """
        from corral.inventory.patterns import select_hosts

        self._ensure_ready()
        return select_hosts(self, pattern, limit=limit)

    # --------------------------------------------------------------- variables

    def host_vars(self, name: str) -> dict[str, Any]:
        """Every inventory variable host ``name`` sees, merged in Ansible's order.

        Includes ``inventory_hostname``, ``inventory_hostname_short``,
        ``group_names``, ``inventory_file`` and ``inventory_dir``.
        """
        return dict(self.host_vars_view(name))

    def host_vars_view(self, name: str) -> Mapping[str, Any]:
        """:meth:`host_vars` without the copy: the cached mapping, not to be modified."""
        merged = self._host_vars.get(name)
        if merged is None or not self._ready:
            host = self._require_host(name)
            merged = self._host_vars.get(host.name)
            if merged is None:
                merged = self._merge_host_vars(host)
                self._host_vars[host.name] = merged
        return merged

    def connection_vars(self, name: str) -> ConnectionVars:
        """How to reach host ``name``: its ``ansible_host``, port, user, become settings...

        Read from the merged variables as they stand (not templated).
        """
        from corral.inventory.connvars import connection_vars

        host = self._require_host(name)
        return connection_vars(host.name, self.host_vars_view(host.name))

    def group_vars(self, name: str) -> dict[str, Any]:
        """Variables of group ``name`` alone: inventory, then group_vars files.

        ``ansible_group_priority`` appears when it is not the default, 1.
        """
        self._ensure_ready()
        group = self.groups.get(name)
        if group is None:
            raise InventoryError(f"unknown group {name!r}")
        result = dict(group.vars)
        for vars_dir in self._vars_dirs():
            result.update(vars_dir.group_vars(name))
        if group.priority != 1:
            result["ansible_group_priority"] = group.priority
        return result

    def _require_host(self, name: str) -> Host:
        self._ensure_ready()
        host = self.get_host(name)
        if host is None:
            close = difflib.get_close_matches(name, self._hosts, n=3)
            raise InventoryError(
                f"unknown host {name!r}",
                hint=f"did you mean {', '.join(map(repr, close))}?" if close else None,
            )
        return host

    def _vars_dirs(self) -> list[VarsDir]:
        if self.playbook_vars is None:
            return self.vars_dirs
        return [*self.vars_dirs, self.playbook_vars]

    def _merge_host_vars(self, host: Host) -> dict[str, Any]:
        groups = () if host.implicit else self._groups_by_precedence(host)
        merged = dict(self._group_layer(groups))
        merged.update(host.vars)
        for vars_dir in self._vars_dirs():
            merged.update(vars_dir.host_vars(host.name))
        name = host.name
        merged["inventory_hostname"] = name
        merged["inventory_hostname_short"] = name if is_ip_address(name) else name.split(".")[0]
        merged["group_names"] = sorted(groups)
        return merged

    def _groups_by_precedence(self, host: Host) -> tuple[str, ...]:
        """The host's groups but ``all``, lowest precedence first: depth, priority, name."""
        key = tuple(host.groups)
        ordered = self._sorted_groups.get(key)
        if ordered is None:
            groups = [self.groups[g] for g in self._closure(host) if g != "all"]
            groups.sort(key=lambda g: (g.depth, g.priority, g.name))
            ordered = self._sorted_groups[key] = tuple(g.name for g in groups)
        return ordered

    def _group_layer(self, groups: tuple[str, ...]) -> dict[str, Any]:
        """What a host in exactly ``groups`` gets from groups, before its own variables."""
        layer = self._group_layers.get(groups)
        if layer is None:
            layer = dict(self.groups["all"].vars)
            for name in groups:
                layer.update(self.groups[name].vars)
            vars_dirs = self._vars_dirs()
            for vars_dir in vars_dirs:
                layer.update(vars_dir.group_vars("all"))
            for vars_dir in vars_dirs:
                for name in groups:
                    layer.update(vars_dir.group_vars(name))
            self._group_layers[groups] = layer
        return layer


def _priority(value: Any, current: int) -> int:
    try:
        return int(value)
    except TypeError:
        return current  # Ansible ignores a priority it cannot convert this way
    except ValueError:
        raise InventoryError(f"ansible_group_priority must be an integer, not {value!r}") from None


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def as_inventory(builder: object) -> Inventory:
    """``builder`` as an :class:`Inventory`; the built-in readers need more than the protocol."""
    if not isinstance(builder, Inventory):
        raise TypeError("corral's built-in inventory readers build a corral Inventory")
    return builder

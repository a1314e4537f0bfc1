"""The records an inventory holds: groups and hosts (see :mod:`corral.inventory.model`)."""

from __future__ import annotations

from typing import Any

__all__ = ["LOCALHOST_NAMES", "Group", "Host"]

LOCALHOST_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


class Group:
    """A named set of hosts and child groups, with its own variables."""

    __slots__ = ("_host_set", "children", "depth", "hosts", "name", "parents", "priority", "vars")

    def __init__(self, name: str) -> None:
        self.name = name
        self.hosts: list[str] = []  # direct members, in the order they were added
        self.children: list[str] = []
        self.parents: list[str] = []
        self.vars: dict[str, Any] = {}
        self.priority = 1  # ansible_group_priority: higher wins among groups of one depth
        self.depth = 0  # longest path from ``all``, set when the inventory is finished
        self._host_set: set[str] = set()

    def __repr__(self) -> str:
        return f"Group({self.name!r}, hosts={len(self.hosts)}, children={self.children})"


class Host:
    """A host: its name, its own inventory variables and the groups it was put in."""

    __slots__ = ("groups", "implicit", "name", "vars")

    def __init__(self, name: str, *, implicit: bool = False) -> None:
        self.name = name
        self.vars: dict[str, Any] = {}
        self.groups: list[str] = []  # direct memberships; ancestors are derived
        self.implicit = implicit  # Ansible's implicit localhost: in no group, not in ``all``

    def __repr__(self) -> str:
        return f"Host({self.name!r})"

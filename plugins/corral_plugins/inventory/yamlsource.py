"""The YAML inventory reader, compatible with Ansible's ``yaml`` plugin.

The top level maps group names to ``hosts``, ``vars`` and ``children``; children
are groups of the same shape, nested to any depth; host keys may be ranges
(``web[01:20]``) and carry their variables as a mapping. Values are typed as
YAML 1.1 types them (as Ansible's loader does). Reads ``.yml``, ``.yaml``,
``.json`` and extensionless files; errors point at the offending node.
"""

from __future__ import annotations

import os
import re
from typing import Any

from corral.errors import InventoryError, Location, error_location
from corral.inventory.model import Inventory, as_inventory
from corral.inventory.ranges import expand_host_pattern
from corral.inventory.source import InventoryBuilder, InventorySourceType
from corral.playbook.yaml.marked import mark_of, unmark
from corral.playbook.yaml.read import first_line, load_data, read_text

__all__ = ["YAML_EXTENSIONS", "YAML_SOURCE", "read_yaml"]

YAML_EXTENSIONS = (".yaml", ".yml", ".json")
_SECTIONS = ("vars", "children", "hosts")
# A first line only YAML would write: a document start, a flow mapping, or "key:".
_YAML_LINE = re.compile(r"^(?:---|\{|[^\s\[=#;][^=]*:(?:\s|$))")


def read_yaml(path: str, builder: InventoryBuilder) -> None:
    """Read the YAML inventory at ``path`` into ``builder`` (a corral Inventory)."""
    inventory = as_inventory(builder)
    root = load_data(path, read_text(path), inventory.warn)
    if not isinstance(root, dict) or not root:
        with error_location(Location(path, 1) if root is None else _where(root, path)):
            if not root:
                raise InventoryError("empty YAML inventory")
            raise InventoryError(
                "a YAML inventory maps group names to groups; "
                f"this file holds a {type(unmark(root)).__name__}"
            )
    reader = _YamlGroups(path, inventory)
    if root.get("plugin"):
        raise InventoryError(
            "this is an Ansible inventory plugin configuration (plugin: ...), "
            "which corral does not run",
            location=reader.key(root, "plugin"),
            hint="register an inventory source through the corral_register_inventory_sources hook",
        )
    for name, value in root.items():
        with error_location(reader.key(root, name)):
            reader.group(name, value)


class _YamlGroups:
    """Walks group mappings, adding what they declare to the inventory."""

    def __init__(self, path: str, inventory: Inventory) -> None:
        self.path = path
        self.inventory = inventory

    def key(self, mapping: dict[Any, Any], key: Any) -> Location:
        """Where ``key`` of ``mapping`` is written (the file alone for JSON data)."""
        marks = getattr(mapping, "key_marks", None)
        return (marks.get(key) if marks else None) or Location(self.path)

    def where(self, value: Any, mapping: dict[Any, Any], key: Any) -> Location:
        """Where ``value``, the value of ``key``, is written; its key's place for a scalar."""
        return mark_of(value) or self.key(mapping, key)

    def group(self, name: Any, node: Any, where: Location | None = None) -> None:
        """Read the group ``name`` defined by ``node`` (a mapping, or nothing)."""
        if not (isinstance(node, dict) or node is None):
            self.inventory.warn(
                f"{mark_of(node) or where or Location(self.path)}: skipping {name!r}: "
                "a group must be a mapping"
            )
            return
        if not isinstance(name, str):
            raise InventoryError(f"group name {name!r} must be a string")
        self.inventory.add_group(name)
        if node is None:
            return
        for section in _SECTIONS:
            if section in node:
                self._check_section(name, section, node)
        for key, value in node.items():
            with error_location(self.key(node, key)):
                self._section(name, key, value, self.where(value, node, key))

    def _check_section(self, group: str, section: str, node: dict[Any, Any]) -> None:
        value = node[section]
        if not (_is_plain_string(value) or value is None or isinstance(value, dict)):
            raise InventoryError(
                f"{section!r} of group {group!r} must be a mapping, not a "
                f"{type(unmark(value)).__name__}",
                location=self.where(value, node, section),
                hint="write hosts and children as keys ending in ':', e.g. 'hosts: {web1: }'",
            )

    def _section(self, group: str, key: Any, node: Any, where: Location) -> None:
        if node is None:
            return
        if _is_plain_string(node) and key in _SECTIONS:
            # A single name is allowed in place of a mapping: "hosts: web1".
            entries: dict[Any, Any] = {node: None}
        elif isinstance(node, dict):
            entries = node
        else:
            self.inventory.warn(
                f"{where}: skipping key {key!r} in group {group!r}: it is not a mapping"
            )
            return
        if key == "vars":
            for var, value in entries.items():
                self.inventory.set_variable(group, var, unmark(value))
        elif key == "children":
            for child, child_node in entries.items():
                place = self.key(entries, child) if entries is node else where
                with error_location(place):
                    self.group(child, child_node, place)
                    # As in Ansible, a child that was skipped may still name a known group.
                    self.inventory.add_child(group, child)
        elif key == "hosts":
            for entry, host_node in entries.items():
                place = self.key(entries, entry) if entries is node else where
                with error_location(place):
                    self._hosts(group, entry, host_node, place)
        else:
            self.inventory.warn(
                f"{where}: skipping unexpected key {key!r} in group "
                f"{group!r}; only vars, children and hosts are valid"
            )

    def _hosts(self, group: str, entry: Any, node: Any, where: Location) -> None:
        if not isinstance(entry, str):
            raise InventoryError(
                f"host {entry!r} must be a string", hint="quote numeric host names: '10': "
            )
        names, port = expand_host_pattern(entry)
        variables = unmark(node) or {}
        if not isinstance(variables, dict):
            raise InventoryError(
                f"the variables of host {entry!r} must be a mapping, "
                f"not a {type(variables).__name__}",
                location=mark_of(node) or where,
            )
        self.inventory.add_hosts(names, group, variables, port)


def _is_plain_string(value: Any) -> bool:
    """A string as written, not one marked ``!unsafe``."""
    return type(value) is str


def _where(value: Any, path: str) -> Location:
    return mark_of(value) or Location(path)


def _verify_yaml(source: str) -> bool:
    if not (os.path.isfile(source) and os.access(source, os.R_OK)):
        return False
    extension = os.path.splitext(source)[1]
    if extension in YAML_EXTENSIONS:
        return True
    # A file starting with an INI section such as [web] can never be a YAML inventory
    # (its root would be a list): leave it to the INI reader.
    head = first_line(source)
    return not extension and not (head.startswith("[") and head.endswith("]"))


def _claims_yaml(source: str) -> bool:
    """A YAML extension or a YAML-looking first line: then the YAML error is the one to show."""
    return os.path.splitext(source)[1] in YAML_EXTENSIONS or bool(
        _YAML_LINE.match(first_line(source))
    )


YAML_SOURCE = InventorySourceType(
    name="yaml",
    verify=_verify_yaml,
    parse=read_yaml,
    description="Ansible YAML (and JSON) inventory files",
    claims=_claims_yaml,
)

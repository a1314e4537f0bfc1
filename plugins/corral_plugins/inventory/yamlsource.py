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
from corral.playbook.yaml.read import YamlDocument, compose_yaml, first_line, read_text

__all__ = ["YAML_EXTENSIONS", "YAML_SOURCE", "read_yaml"]

YAML_EXTENSIONS = (".yaml", ".yml", ".json")
_SECTIONS = ("vars", "children", "hosts")
# A first line only YAML would write: a document start, a flow mapping, or "key:".
_YAML_LINE = re.compile(r"^(?:---|\{|[^\s\[=#;][^=]*:(?:\s|$))")
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"


def read_yaml(path: str, builder: InventoryBuilder) -> None:
    """Read the YAML inventory at ``path`` into ``builder`` (a corral Inventory)."""
    import yaml

    inventory = as_inventory(builder)
    doc = compose_yaml(path, read_text(path), inventory.warn)
    root = doc.root
    if not isinstance(root, yaml.MappingNode) or not root.value:
        value = None if root is None else doc.value(root)
        with error_location(Location(path, 1) if root is None else doc.location(root)):
            if not value:
                raise InventoryError("empty YAML inventory")
            raise InventoryError(
                "a YAML inventory maps group names to groups; "
                f"this file holds a {type(value).__name__}"
            )
    groups = doc.pairs(root)
    plugin = groups.get("plugin")
    if plugin is not None and doc.value(plugin[1]):
        raise InventoryError(
            "this is an Ansible inventory plugin configuration (plugin: ...), "
            "which corral does not run",
            location=doc.location(plugin[0]),
            hint="register an inventory source through the corral_register_inventory_sources hook",
        )
    reader = _YamlGroups(doc, inventory)
    for name, (key_node, value_node) in groups.items():
        with error_location(doc.location(key_node)):
            reader.group(name, value_node)


class _YamlGroups:
    """Walks group mappings, adding what they declare to the inventory."""

    def __init__(self, doc: YamlDocument, inventory: Inventory) -> None:
        self.doc = doc
        self.inventory = inventory

    def group(self, name: Any, node: Any) -> None:
        """Read the group ``name`` defined by ``node`` (a mapping, or nothing)."""
        import yaml

        if not (isinstance(node, yaml.MappingNode) or _is_null(node)):
            self.inventory.warn(
                f"{self.doc.location(node)}: skipping {name!r}: a group must be a mapping"
            )
            return
        if not isinstance(name, str):
            raise InventoryError(f"group name {name!r} must be a string")
        self.inventory.add_group(name)
        if not isinstance(node, yaml.MappingNode):
            return
        sections = self.doc.pairs(node)
        for section in _SECTIONS:
            if section in sections:
                self._check_section(name, section, sections[section][1])
        for key, (key_node, value_node) in sections.items():
            with error_location(self.doc.location(key_node)):
                self._section(name, key, value_node)

    def _check_section(self, group: str, section: str, node: Any) -> None:
        import yaml

        plain_string = isinstance(node, yaml.ScalarNode) and node.tag == _STR
        if not (plain_string or _is_null(node) or isinstance(node, yaml.MappingNode)):
            raise InventoryError(
                f"{section!r} of group {group!r} must be a mapping, not a "
                f"{type(self.doc.value(node)).__name__}",
                location=self.doc.location(node),
                hint="write hosts and children as keys ending in ':', e.g. 'hosts: {web1: }'",
            )

    def _section(self, group: str, key: Any, node: Any) -> None:
        import yaml

        if _is_null(node):
            return
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR and key in _SECTIONS:
            # A single name is allowed in place of a mapping: "hosts: web1".
            entries: dict[Any, tuple[Any, Any]] = {node.value: (node, None)}
        elif isinstance(node, yaml.MappingNode):
            entries = self.doc.pairs(node)
        else:
            self.inventory.warn(
                f"{self.doc.location(node)}: skipping key {key!r} in group {group!r}: "
                "it is not a mapping"
            )
            return
        if key == "vars":
            for var, (_, value_node) in entries.items():
                value = None if value_node is None else self.doc.value(value_node)
                self.inventory.set_variable(group, var, value)
        elif key == "children":
            for child, (child_key, child_node) in entries.items():
                with error_location(self.doc.location(child_key)):
                    self.group(child, child_node)
                    # As in Ansible, a child that was skipped may still name a known group.
                    self.inventory.add_child(group, child)
        elif key == "hosts":
            for entry, (host_key, host_node) in entries.items():
                with error_location(self.doc.location(host_key)):
                    self._hosts(group, entry, host_node)
        else:
            self.inventory.warn(
                f"{self.doc.location(node)}: skipping unexpected key {key!r} in group "
                f"{group!r}; only vars, children and hosts are valid"
            )

    def _hosts(self, group: str, entry: Any, node: Any) -> None:
        if not isinstance(entry, str):
            raise InventoryError(
                f"host {entry!r} must be a string", hint="quote numeric host names: '10': "
            )
        names, port = expand_host_pattern(entry)
        variables = (None if node is None else self.doc.value(node)) or {}
        if not isinstance(variables, dict):
            raise InventoryError(
                f"the variables of host {entry!r} must be a mapping, "
                f"not a {type(variables).__name__}",
                location=self.doc.location(node),
            )
        self.inventory.add_hosts(names, group, variables, port)


def _is_null(node: Any) -> bool:
    import yaml

    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


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

"""The fleet inventory: sources, host patterns and variable layering.

corral reads inventories as ``ansible-inventory`` does: INI, YAML and JSON files,
directories of them, executable dynamic-inventory scripts, comma-separated host
lists (the readers of the built-in ``inventory`` plugin), and sources that other
plugins register. See ``docs/inventory.md``::

    inventory = load_inventory(["inventory/"], plugin_sources=registry.inventory_sources)
    inventory.select("web:&prod:!web0*")      # host names, in Ansible's order
    inventory.host_vars("web01")["ansible_host"]

The names below are imported on first use, so that ``import corral`` (which
needs :mod:`corral.inventory.source`) does not load the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from corral.inventory.source import InventoryBuilder, InventorySourceType

if TYPE_CHECKING:
    from corral.inventory.connvars import ConnectionVars, connection_vars
    from corral.inventory.entities import Group, Host
    from corral.inventory.load import load_inventory
    from corral.inventory.model import Inventory

__all__ = [
    "ConnectionVars",
    "Group",
    "Host",
    "Inventory",
    "InventoryBuilder",
    "InventorySourceType",
    "connection_vars",
    "load_inventory",
]

_LAZY = {
    "ConnectionVars": "corral.inventory.connvars",
    "connection_vars": "corral.inventory.connvars",
    "load_inventory": "corral.inventory.load",
    "Group": "corral.inventory.entities",
    "Host": "corral.inventory.entities",
    "Inventory": "corral.inventory.model",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

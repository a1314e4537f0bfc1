"""The fleet inventory: sources, host patterns and variable layering.

corral reads inventories as ``ansible-inventory`` does: INI, YAML and JSON files,
directories of them, executable dynamic-inventory scripts, comma-separated host
lists, and sources that plugins register. See ``docs/inventory.md``::

    inventory = load_inventory(["inventory/"])
    inventory.select("web:&prod:!web0*")      # host names, in Ansible's order
    inventory.host_vars("web01")["ansible_host"]
"""

from __future__ import annotations

from corral.inventory.connvars import ConnectionVars, connection_vars
from corral.inventory.load import builtin_sources, load_inventory
from corral.inventory.model import Group, Host, Inventory
from corral.inventory.source import InventoryBuilder, InventorySourceType

__all__ = [
    "ConnectionVars",
    "Group",
    "Host",
    "Inventory",
    "InventoryBuilder",
    "InventorySourceType",
    "builtin_sources",
    "connection_vars",
    "load_inventory",
]

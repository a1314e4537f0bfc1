"""corral's own inventory readers: host lists, scripts, YAML (and JSON) and INI files.

They are registered like any plugin's, and tried after the sources of every other
plugin, in Ansible's order: host list, script, YAML, INI (see ``docs/inventory.md``).
The loading itself (directories, ``group_vars``/``host_vars``, precedence) is the
core's, in :mod:`corral.inventory`.
"""

from __future__ import annotations

from corral import InventorySourceType, RegisterInventorySource, hookimpl
from corral_plugins.inventory.hostlist import HOST_LIST_SOURCE
from corral_plugins.inventory.ini import INI_SOURCE
from corral_plugins.inventory.script import SCRIPT_SOURCE
from corral_plugins.inventory.yamlsource import YAML_SOURCE

__all__ = ["SOURCES", "corral_register_inventory_sources"]

SOURCES: tuple[InventorySourceType, ...] = (
    HOST_LIST_SOURCE,
    SCRIPT_SOURCE,
    YAML_SOURCE,
    INI_SOURCE,
)
"""The built-in readers, in the order they are tried (Ansible's)."""


@hookimpl
def corral_register_inventory_sources(register: RegisterInventorySource) -> None:
    """Register the host list, script, YAML and INI readers, in that order."""
    for source in SOURCES:
        register(source)

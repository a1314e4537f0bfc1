"""Comma-separated host lists given to ``-i``: ``-i web1,web2:2222,`` (Ansible's ``host_list``)."""

from __future__ import annotations

import os

from corral.inventory.model import as_inventory
from corral.inventory.ranges import parse_address
from corral.inventory.source import InventoryBuilder, InventorySourceType

__all__ = ["HOST_LIST_SOURCE", "read_host_list"]


def read_host_list(source: str, builder: InventoryBuilder) -> None:
    """Add each host of ``source`` (names separated by commas) to ``ungrouped``."""
    inventory = as_inventory(builder)
    for item in source.split(","):
        entry = item.strip()
        if not entry:
            continue
        parsed = parse_address(entry)
        # Ranges are not expanded in host lists; such an entry stays a literal name.
        name, port = parsed if parsed is not None and "[" not in parsed[0] else (entry, None)
        if not inventory.has_host(name):
            inventory.add_host(name, "ungrouped", port)


def _verify_host_list(source: str) -> bool:
    return "," in source and not os.path.exists(source)


HOST_LIST_SOURCE = InventorySourceType(
    name="host_list",
    verify=_verify_host_list,
    parse=read_host_list,
    description="comma-separated host names, e.g. -i 'web1,web2,'",
)

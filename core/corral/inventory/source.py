"""Inventory source types: how a ``-i`` argument becomes groups, hosts and variables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["InventoryBuilder", "InventorySourceType"]


class InventoryBuilder(Protocol):
    """What a source adds to; groups and hosts are created on first mention."""

    def add_group(self, name: str) -> None: ...

    def add_host(self, name: str, group: str | None = None) -> None: ...

    def add_child(self, parent: str, child: str) -> None: ...

    def set_variable(self, entity: str, key: str, value: Any) -> None:
        """Set a variable on a group or host named ``entity`` (groups win over hosts on a clash)."""


@dataclass(frozen=True)
class InventorySourceType:
    """A reader of inventory sources, in the manner of Ansible's inventory plugins.

    ``verify(source)`` says whether this reader takes ``source`` (a path or any
    other string given to ``-i``); the first that does, in registration order,
    then gets ``parse(source, builder)``. ``parse`` raises
    :class:`corral.errors.InventoryError` with a location on bad input.
    """

    name: str
    verify: Callable[[str], bool]
    parse: Callable[[str, InventoryBuilder], None]
    description: str = ""
    plugin: str = field(default="", compare=False)

"""Inventory source types: how a ``-i`` argument becomes groups, hosts and variables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from corral.errors import InventoryError

__all__ = ["InventoryBuilder", "InventorySourceType", "SourceClaimError"]


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
    other string given to ``-i``); the first that does, in the order of
    ``docs/plugins.md`` (plugins other than corral's first, in load order, then
    corral's built-in readers), then gets ``parse(source, builder)``. ``parse``
    raises :class:`corral.errors.InventoryError` with a location on bad input;
    the next reader that wants the source is then tried.

    ``claims(source)``, when given, says whether ``source`` is surely meant for
    this reader: if every reader that wanted a source fails, the error shown is
    that of the first reader that claims it (a reader without ``claims`` claims
    every source it verifies).
    """

    name: str
    verify: Callable[[str], bool]
    parse: Callable[[str, InventoryBuilder], None]
    description: str = ""
    plugin: str = field(default="", compare=False)
    claims: Callable[[str], bool] | None = field(default=None, compare=False)


class SourceClaimError(InventoryError):
    """A reader failed on a source that can only be its own: no other reader tries it.

    The built-in script reader raises it for a script that starts with ``#!``:
    reading the code of a failed script as an INI file would only mislead.
    """

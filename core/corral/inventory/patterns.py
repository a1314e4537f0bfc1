"""Host patterns, evaluated as Ansible's ``InventoryManager`` evaluates them.

A pattern is split on commas (or colons): ``web:&prod:!web0*``. The plain parts
are united in order, then ``&`` parts intersect and ``!`` parts exclude. A part
is an exact host name, or a glob or ``~regex`` matched against group names (a
matching group brings all its hosts) and, when no group matches or the part
has glob or regex characters, against host names. ``web[0]``, ``web[-1]`` and
``web[1:3]`` (inclusive) pick hosts from a part's result. A part that matches
nothing adds a warning and no host. Work is done with lists and sets, and
each part's result is cached until the inventory changes.
"""

from __future__ import annotations

import fnmatch
import os
import re
import warnings
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from corral.errors import InventoryError, UsageError
from corral.inventory.entities import LOCALHOST_NAMES
from corral.inventory.ranges import parse_address
from corral.playbook.yaml.limits import MAX_FILE_BYTES

if TYPE_CHECKING:
    from corral.inventory.model import Inventory

__all__ = ["order_patterns", "select_hosts", "split_host_pattern"]

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_PARTS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_GLOB_CHARS = frozenset("*?[")
_HOST_MATCH_CHARS = frozenset(".?*[")
_MAX_SUBSCRIPT_DIGITS = 18


def split_host_pattern(pattern: str | Sequence[str]) -> list[str]:
    """``"a,b[1], c[2:3] , d"`` -> ``["a", "b[1]", "c[2:3]", "d"]``; ``a:b`` splits too.

    A pattern that is itself an address (an IPv6 address, ``host:port``) stays whole.
    """
    if not isinstance(pattern, str):
        return [part for item in pattern for part in split_host_pattern(item)]
    if "," in pattern:
        parts = pattern.split(",")
    elif ":" in pattern and parse_address(pattern) is not None:
        # (Without a colon, the split below gives the address whole too.)
        parts = [pattern]
    else:
        parts = _PARTS.findall(pattern)
    return [part.strip() for part in parts if part.strip()]


def order_patterns(patterns: Iterable[str]) -> list[str]:
    """Plain parts first, then ``&`` parts, then ``!`` parts; ``all`` if there is no plain one."""
    plain, both, excluded = [], [], []
    for part in patterns:
        if not part:
            continue
        if part[0] == "!":
            excluded.append(part)
        elif part[0] == "&":
            both.append(part)
        else:
            plain.append(part)
    return (plain or ["all"]) + both + excluded


def select_hosts(
    inventory: Inventory, pattern: str | Sequence[str], *, limit: str | None = None
) -> list[str]:
    """The hosts of ``inventory`` matching ``pattern`` and, if given, ``limit``."""
    hosts = _evaluate(inventory, split_host_pattern(pattern))
    if limit:
        allowed = set(_evaluate(inventory, _limit_parts(limit, inventory)))
        hosts = [name for name in hosts if name in allowed]
    return list(dict.fromkeys(hosts))


def _limit_parts(limit: str, inventory: Inventory) -> list[str]:
    """The parts of a ``--limit`` value; ``@file`` reads one pattern per line."""
    parts: list[str] = []
    for part in split_host_pattern(limit):
        if part[0] != "@":
            parts.append(part)
            continue
        path = os.path.join(inventory.cwd, os.path.expanduser(part[1:]))
        if not os.path.exists(path):
            raise UsageError(f"limit file {part[1:]!r} not found")
        if not os.path.isfile(path):
            raise UsageError(f"limit file {part[1:]!r} is not a file")
        with open(path, encoding="utf-8") as handle:
            # The same size bound as every other file a user gives (docs/security.md).
            text = handle.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise UsageError(
                f"limit file {part[1:]!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                hint="a limit file lists host names or patterns, one per line",
            )
        parts.extend(line.strip() for line in text.split("\n"))
    return parts


def _evaluate(inventory: Inventory, parts: list[str]) -> list[str]:
    hosts: list[str] = []
    for part in order_patterns(parts):
        if inventory.has_host(part):
            hosts.append(part)
            continue
        matched = _match_part(inventory, part)
        if part[0] == "!":
            excluded = set(matched)
            hosts = [name for name in hosts if name not in excluded]
        elif part[0] == "&":
            kept = set(matched)
            hosts = [name for name in hosts if name in kept]
        else:
            present = set(hosts)
            hosts.extend(name for name in matched if name not in present)
    return hosts


def _match_part(inventory: Inventory, part: str) -> list[str]:
    """The hosts one part matches (its ``&``/``!`` ignored), subscript applied."""
    pattern = part[1:] if part[0] in "&!" else part
    if not pattern:
        raise InventoryError(f"empty host pattern after {part!r}")
    cached = inventory.pattern_cache.get(pattern)
    if cached is None:
        expression, subscript = _split_subscript(inventory, pattern)
        try:
            cached = _apply_subscript(_enumerate(inventory, expression), subscript)
        except IndexError:
            raise InventoryError(f"no host matches the subscripted pattern {pattern!r}") from None
        inventory.pattern_cache[pattern] = cached
    return cached


def _split_subscript(
    inventory: Inventory, pattern: str
) -> tuple[str, tuple[int, int | None] | None]:
    if pattern[0] == "~":
        return pattern, None
    match = _SUBSCRIPT.match(pattern)
    if match is None:
        return pattern, None
    expression, index, start, separator, end = match.groups()
    if max(len(index or ""), len(start or ""), len(end or "")) > _MAX_SUBSCRIPT_DIGITS:
        # int() refuses numbers over 4,300 digits; no inventory has 10**18 hosts anyway.
        raise InventoryError(f"subscript too large in host pattern {pattern!r}")
    if index:
        return expression, (int(index), None)
    if separator == "-":
        inventory.warn(f"use [x:y] inclusive subscripts instead of [x-y] in {pattern!r}")
    return expression, (int(start), int(end) if end else -1)


def _apply_subscript(hosts: list[str], subscript: tuple[int, int | None] | None) -> list[str]:
    """Ansible's subscripts: ``[i]`` one host, ``[i:j]`` inclusive, ``[i:]`` to the end."""
    if not hosts or subscript is None:
        return hosts
    start, end = subscript
    if end:  # as in Ansible, [i:0] behaves like [i]
        if end == -1:
            end = len(hosts) - 1
        return hosts[start : end + 1]
    return [hosts[start]]


def _enumerate(inventory: Inventory, pattern: str) -> list[str]:
    """Hosts of the groups ``pattern`` matches, then hosts it matches by name."""
    results: list[str] = []
    groups = _match_names(inventory.groups, pattern)
    for group in groups:
        results.extend(inventory.group_hosts(group))
    if not groups or pattern[0] == "~" or not _HOST_MATCH_CHARS.isdisjoint(pattern):
        results.extend(_match_names(inventory.host_names(), pattern))
    if not results and pattern in LOCALHOST_NAMES:
        localhost = inventory.get_host(pattern)
        if localhost is not None:
            results.append(localhost.name)
    if not results and not groups and pattern != "all":
        inventory.warn(f"could not match supplied host pattern, ignoring: {pattern}")
    return results


def _match_names(names: Collection[str], pattern: str) -> list[str]:
    if pattern[0] != "~" and _GLOB_CHARS.isdisjoint(pattern):
        return [pattern] if pattern in names else []
    try:
        with warnings.catch_warnings():  # "possible nested set" in a user's regex is theirs
            warnings.simplefilter("ignore", FutureWarning)
            regex = re.compile(pattern[1:] if pattern[0] == "~" else fnmatch.translate(pattern))
    except (re.error, OverflowError, RecursionError) as exc:
        # ``a{99999999999}`` overflows and deeply nested groups recurse instead of re.error.
        reason = exc if isinstance(exc, re.error | OverflowError) else "nested too deeply"
        raise InventoryError(f"invalid host pattern {pattern!r}: {reason}") from None
    match = regex.match
    return [name for name in names if match(name)]

"""Host addresses and ranges as Ansible reads them: ``web[01:50]``, ``db-[a:f]``, ``host:2222``.

The regular expressions follow Ansible's ``ansible.parsing.utils.addresses`` so that
a host entry splits into name and port exactly as ``ansible-inventory`` splits it,
and ranges expand to the same names in the same order (zero padding kept).
Where Ansible silently yields no host (``web[10:01]``) corral refuses the range, and
one entry names at most :data:`MAX_RANGE_HOSTS` hosts, so that a typo such as
``web[0:10000000000]`` is an error instead of a controller that runs out of memory.
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from collections.abc import Iterator
from typing import NamedTuple

from corral.errors import InventoryError

__all__ = [
    "MAX_RANGE_HOSTS",
    "RangeError",
    "expand_host_pattern",
    "is_ip_address",
    "parse_address",
]

MAX_RANGE_HOSTS = 100_000
"""The most hosts one entry may expand to (``10.0.[0:255].[0:255]`` is 65,536)."""
_MAX_DIGITS = 18  # range numbers beyond this could only exceed MAX_RANGE_HOSTS


class RangeError(InventoryError):
    """A host range that cannot be expanded; the reader adds the location."""


_NUMERIC_RANGE = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_HEX_RANGE = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]"
_ALNUM_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_IPV6_PART = rf"(?:[0-9a-f]{{1,4}}|{_HEX_RANGE})"
_IPV4_PART = rf"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{_NUMERIC_RANGE})"
_LABEL = rf"(?:[\w]|{_ALNUM_RANGE})(?:[\w_-]|{_ALNUM_RANGE})*(?<![_-])"

_IPV6_FORMS = (  # P is one part: uncompressed, the :: variants, and IPv4 inside IPv6
    "(?:P:){7}P", "(?:P:){1,6}:", "(?:P:)(?::P){1,6}", "(?:P:){2}(?::P){1,5}",
    "(?:P:){3}(?::P){1,4}", "(?:P:){4}(?::P){1,3}", "(?:P:){5}(?::P){1,2}", "(?:P:){6}(?::P)",
    ":(?::P){1,6}", "P?::", r"(?:0:){6}(?:P\.){3}P", r"::(?:ffff:)?(?:P\.){3}P",
    r"(?:0:){5}ffff:(?:P\.){3}P",
)  # fmt: skip


class _Forms(NamedTuple):
    bracketed_hostport: re.Pattern[str]
    hostport: re.Pattern[str]
    ipv4: re.Pattern[str]
    ipv6: re.Pattern[str]
    hostname: re.Pattern[str]


@functools.cache
def _forms() -> _Forms:
    """The address patterns, compiled on first use: they take milliseconds to compile
    (the IPv6 one most), and a run whose host names hold no colon or digit needs none."""
    ipv6 = "|".join(form.replace("P", _IPV6_PART) for form in _IPV6_FORMS)
    return _Forms(
        bracketed_hostport=re.compile(r"^\[(.+)\]:([0-9]+)$"),
        hostport=re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$"),
        ipv4=re.compile(rf"^(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}$", re.I),
        ipv6=re.compile("^(" + ipv6 + ")$", re.I),
        hostname=re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I),
    )


def parse_address(address: str) -> tuple[str, int | None] | None:
    """Split ``address`` into host and port, or return None if it is no valid address.

    Ranges are allowed (``web[01:03]:2222`` gives ``("web[01:03]", 2222)``); IPv6
    addresses take a port only in brackets (``[::1]:22``).
    """
    port: int | None = None
    forms = _forms()
    for form in (forms.bracketed_hostport, forms.hostport):
        match = form.match(address)
        if match:
            address, port = match.group(1), int(match.group(2))
    for form in (forms.ipv4, forms.ipv6, forms.hostname):
        if form.match(address):
            return address, port
    return None


def is_ip_address(name: str) -> bool:
    """Whether ``name`` is an IPv4 or IPv6 address (for ``inventory_hostname_short``)."""
    # Every address starts with a digit or a range, or holds a colon; most names do not.
    if ":" not in name and not name[:1].isdigit() and name[:1] != "[":
        return False
    forms = _forms()
    return bool(forms.ipv4.match(name) or forms.ipv6.match(name))


def expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """Expand one host entry into host names and the port that applies to all of them.

    ``web[01:03]:2222`` gives ``(["web01", "web02", "web03"], 2222)``. Raises
    :class:`RangeError` (an :class:`~corral.errors.InventoryError`) for a malformed
    or empty range, or one that names more than :data:`MAX_RANGE_HOSTS` hosts.
    """
    port: int | None = None
    # Without a colon there can be no port, and the name stays as written either way.
    if ":" in pattern:
        parsed = parse_address(pattern)
        if parsed is not None:
            pattern, port = parsed
    if "[" not in pattern:
        return [pattern], port
    try:
        names = list(itertools.islice(_expand(pattern), MAX_RANGE_HOSTS + 1))
    except RangeError as exc:
        raise RangeError(f"bad host range in {pattern!r}: {exc.message}") from None
    if len(names) > MAX_RANGE_HOSTS:
        raise _too_many(pattern)
    return names, port


def _too_many(pattern: str) -> RangeError:
    return RangeError(
        f"host range {pattern!r} names more than {MAX_RANGE_HOSTS:,} hosts",
        hint="split it into several entries, or check the range for a typo",
    )


def _expand(name: str) -> Iterator[str]:
    """Expand the first ``[begin:end(:step)]`` in ``name``, then the rest, recursively."""
    parts = name.replace("[", "|", 1).replace("]", "|", 1).split("|")
    if len(parts) != 3:
        raise RangeError(f"unbalanced brackets in host range {name!r}")
    head, bounds_text, tail = parts
    bounds = bounds_text.split(":")
    if len(bounds) not in (2, 3):
        raise RangeError(f"host range [{bounds_text}] must be begin:end or begin:end:step")
    begin = bounds[0] or "0"
    end = bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise RangeError(f"host range [{bounds_text}] must specify an end value")
    if any(len(text) > _MAX_DIGITS for text in bounds):
        raise RangeError(f"host range [{bounds_text}] has numbers too large for a host range")
    if not _is_number(step_text) or int(step_text) == 0:
        raise RangeError(f"host range [{bounds_text}] needs a positive integer step")
    step = int(step_text)
    width = len(begin) if begin[0] == "0" and len(begin) > 1 else 0
    if width and width != len(end):
        raise RangeError(
            f"host range [{bounds_text}] must use begin and end of equal length to keep "
            "the zero padding"
        )
    for item in _sequence(begin, end, step, bounds_text):
        expanded = f"{head}{item.zfill(width) if width else item}{tail}"
        if "[" in expanded:
            yield from _expand(expanded)
        else:
            yield expanded


def _sequence(begin: str, end: str, step: int, bounds_text: str) -> list[str]:
    """The items of one range: letters (``a:f``) or numbers (``01:50``)."""
    letters = string.ascii_letters
    # str.index finds substrings, so "ab" is a valid "letter", as it is for Ansible.
    if begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise RangeError(f"host range [{bounds_text}] must have begin <= end")
        return list(letters[first : last + 1 : step])
    if not (_is_number(begin) and _is_number(end)):
        raise RangeError(f"host range [{bounds_text}] must be numeric (01:50) or alphabetic (a:f)")
    first, last = int(begin), int(end)
    if first > last:
        raise RangeError(f"host range [{bounds_text}] is empty: begin is greater than end")
    if (last - first) // step >= MAX_RANGE_HOSTS:
        raise RangeError(f"host range [{bounds_text}] names more than {MAX_RANGE_HOSTS:,} hosts")
    return [str(number) for number in range(first, last + 1, step)]


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()

"""Host ranges, addresses and INI value typing, compared with ansible-core's own functions."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from ansible._internal._datatag._tags import Origin
from ansible.parsing.utils.addresses import parse_address as ansible_parse_address
from ansible.plugins.inventory import expand_hostname_range
from ansible.plugins.inventory.ini import InventoryModule

from corral.inventory.ranges import RangeError, expand_host_pattern
from corral_plugins.inventory.ini import parse_ini_value

PATTERNS = [
    "web01",
    "web[01:12]",
    "web[1:50:5]",
    "db-[a:f]",
    "db-[A:C]:5432",
    "db-[a:Z:7]",
    "rack[1:2]-node[01:03].dc.example.com",
    "node[:3]",
    "letters[a:k:3]",
    "app[8:11]:8022",
    "shard[001:003]",
    "d[ab:cd]",
    "10.0.[0:1].[1:2]",
    "10.0.0.1:2222",
    "[2001:db8::1]:2200",
    "2001:db8::[a:c]",
    "fe80::1",
    "host.example.com:22",
    "[web[1:2]]:22",
    "under_score:80",
]


def ansible_expand(pattern: str) -> tuple[list[str], int | None]:
    """What Ansible's BaseInventoryPlugin._expand_hostpattern does."""
    try:
        host, port = ansible_parse_address(pattern, allow_ranges=True)
    except Exception:
        host, port = pattern, None
    return (expand_hostname_range(host) if "[" in host else [host]), port


@pytest.mark.parametrize("pattern", PATTERNS)
def test_expansion_matches_ansible(pattern: str) -> None:
    assert expand_host_pattern(pattern) == ansible_expand(pattern)


@pytest.mark.parametrize(
    "pattern", ["web[a:3]", "web[01:5]", "web[1:2:3:4]", "web[1:]", "w[1:3:0]"]
)
def test_ranges_ansible_refuses_are_refused(pattern: str) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - any failure of Ansible's
        ansible_expand(pattern)
    with pytest.raises(RangeError):
        expand_host_pattern(pattern)


def test_a_reversed_range_is_refused_where_ansible_yields_no_host() -> None:
    assert ansible_expand("web[10:01]") == ([], None)
    with pytest.raises(RangeError, match="begin is greater than end"):
        expand_host_pattern("web[10:01]")


VALUES = [
    "42", "-7", "0", "-0", "1.50", "1_000", "0123", "0x1F", "0o17", "1e3", "1.5e-3", "True",
    "False", "None", "true", "yes", "hello", "a.b.c", "x-y-z", "a=b", "50%", "[1, 'two', 3.0]",
    "{'a': 1, 'b': [2]}", "(1, 2)", "{3}", "1j", "1+2j", "...", "b'raw'", "'quoted'",
    '"double"', "int('3')", "1+2", "{", "", "héllo", "/usr/bin/python3", "10 # comment",
    "abc # comment", "None.x", "True-1", "{'k': (1, 2)}", "[None, True]", "'a' 'b'",
    "99999999999999999999999", "-", "_", "__import__('os')", "1 if 1 else 2", "10.0.0",
    "10.0.0.1", "1.2", "01.5", "-1.5", "1.", ".5", "1.2.3.4.5", "http://x/y", "%x", "~1",
    "@home", "$HOME", ":80", "*", "  7", "\\d+", "'\\d'", "(1, 2)(3)", "1 is 1",
    "\uff34\uff52\uff55\uff45",  # a full-width True
]  # fmt: skip


@pytest.mark.parametrize("text", VALUES)
def test_ini_values_are_typed_as_ansible_types_them(text: str) -> None:
    reader = InventoryModule()
    reader._origin = Origin(path="/inventory.ini", line_num=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ansible lets "invalid escape sequence" through
        expected = reader._parse_value(text)
    assert _as_json(parse_ini_value(text)) == _as_json(expected)


def _as_json(value: Any) -> str:
    # JSON tells 1, 1.0, "1" and true apart, and ignores Ansible's tagged subclasses.
    return json.dumps(value, sort_keys=True)

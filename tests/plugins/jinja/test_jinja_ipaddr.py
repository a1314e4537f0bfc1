"""ansible.utils' IP filters, against the examples of its ipaddr guide (filters_ipaddr.rst).

netaddr and ansible.utils are not installed here, so the expected values are the
guide's. Where the guide predates the filter's code (ansible.utils 2.x+, netaddr 1.x),
the code's answer is expected, and the case says so.
"""

from __future__ import annotations

from typing import Any

import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.playbook.templating.templar import Templar

TEST_LIST = [
    "192.24.2.1",
    "host.fqdn",
    "::1",
    "192.168.32.0/24",
    "fe80::100/10",
    True,
    "",
    "42540766412265424405338506004571095040/64",
]
HOST_PREFIX = ["2001:db8:deaf:be11::ef3/64", "192.0.2.48/24", "127.0.0.1", "192.168.0.0/16"]
VARS: dict[str, Any] = {"test_list": TEST_LIST, "host_prefix": HOST_PREFIX}


@pytest.fixture(scope="module")
def templar() -> Templar:
    return jinja_templar()


# "Basic tests": (value, ipaddr, ipv4, ipv6)
BASIC = [
    ("192.168.0.1", "192.168.0.1", "192.168.0.1", False),
    ("192.168.32.0/24", "192.168.32.0/24", "192.168.32.0/24", False),
    ("fe80::100/10", "fe80::100/10", False, "fe80::100/10"),
    (45443646733, "::a:94a7:50d", False, "::a:94a7:50d"),
    ("523454/24", "0.7.252.190/24", "0.7.252.190/24", False),
    ("localhost", False, False, False),
    (True, False, False, False),
    ("space bar", False, False, False),
    (False, False, False, False),
    ("", False, False, False),
    (":", False, False, False),
    ("fe80:/10", False, False, False),
]


@pytest.mark.parametrize(("value", "any_ip", "v4", "v6"), BASIC)
def test_basic_tests(templar: Templar, value: Any, any_ip: Any, v4: Any, v6: Any) -> None:
    variables = {"v": value}
    assert templar.render_string("{{ v | ansible.utils.ipaddr }}", variables) == any_ip
    assert templar.render_string("{{ v | ansible.utils.ipv4 }}", variables) == v4
    assert templar.render_string("{{ v | ansible.utils.ipv6 }}", variables) == v6


GUIDE: list[tuple[str, Any]] = [
    # Filtering lists
    (
        "test_list | ansible.utils.ipaddr",
        ["192.24.2.1", "::1", "192.168.32.0/24", "fe80::100/10", "2001:db8:32c:faad::/64"],
    ),
    ("test_list | ansible.utils.ipv4", ["192.24.2.1", "192.168.32.0/24"]),
    ("test_list | ansible.utils.ipv6", ["::1", "fe80::100/10", "2001:db8:32c:faad::/64"]),
    # Wrapping IPv6 addresses in [ ] brackets
    (
        "test_list | ansible.utils.ipwrap",
        [
            "192.24.2.1",
            "host.fqdn",
            "[::1]",
            "192.168.32.0/24",
            "[fe80::100]/10",
            True,
            "",
            "[2001:db8:32c:faad::]/64",
        ],
    ),
    (
        "test_list | ansible.utils.ipaddr | ansible.utils.ipwrap",
        ["192.24.2.1", "[::1]", "192.168.32.0/24", "[fe80::100]/10", "[2001:db8:32c:faad::]/64"],
    ),
    # Getting information about hosts and networks. The guide leaves out the IPv6
    # network's first address; the code keeps it (it is a usable IPv6 host address).
    (
        "test_list | ansible.utils.ipaddr('address')",
        ["192.24.2.1", "::1", "fe80::100", "2001:db8:32c:faad::"],
    ),
    ("test_list | ansible.utils.ipaddr('host')", ["192.24.2.1/32", "::1/128", "fe80::100/10"]),
    ("test_list | ansible.utils.ipv4('address')", ["192.24.2.1"]),
    # public/private: the guide predates netaddr 1.0's is_global, which the code uses:
    # the documentation network 2001:db8::/32 and ::1 are not global.
    ("test_list | ansible.utils.ipaddr('public')", ["192.24.2.1"]),
    (
        "test_list | ansible.utils.ipaddr('private')",
        ["::1", "192.168.32.0/24", "fe80::100/10", "2001:db8:32c:faad::/64"],
    ),
    ("test_list | ansible.utils.ipaddr('net')", ["192.168.32.0/24", "2001:db8:32c:faad::/64"]),
    ("test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('size')", [256, 2**64]),
    ("test_list | ansible.utils.ipaddr('192.0.0.0/8')", ["192.24.2.1", "192.168.32.0/24"]),
    # indexes
    (
        "test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('0')",
        ["192.168.32.0/24", "2001:db8:32c:faad::/64"],
    ),
    (
        "test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('1')",
        ["192.168.32.1/24", "2001:db8:32c:faad::1/64"],
    ),
    (
        "test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('-1')",
        ["192.168.32.255/24", "2001:db8:32c:faad:ffff:ffff:ffff:ffff/64"],
    ),
    (
        "test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('200')",
        ["192.168.32.200/24", "2001:db8:32c:faad::c8/64"],
    ),
    (
        "test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('-200')",
        ["192.168.32.56/24", "2001:db8:32c:faad:ffff:ffff:ffff:ff38/64"],
    ),
    (
        "test_list | ansible.utils.ipaddr('net') | ansible.utils.ipaddr('400')",
        ["2001:db8:32c:faad::190/64"],
    ),
    # Getting information from host/prefix values. The guide drops 127.0.0.1; the code's
    # 'host/prefix' keeps a single address (with /32).
    (
        "host_prefix | ansible.utils.ipaddr('host/prefix')",
        ["2001:db8:deaf:be11::ef3/64", "192.0.2.48/24", "127.0.0.1/32"],
    ),
    ("'192.0.2.48/24' | ansible.utils.ipaddr('address')", "192.0.2.48"),
    ("'192.0.2.48/24' | ansible.utils.ipaddr('network')", "192.0.2.0"),
    ("'192.0.2.48/24' | ansible.utils.ipaddr('netmask')", "255.255.255.0"),
    ("'192.0.2.48/24' | ansible.utils.ipaddr('broadcast')", "192.0.2.255"),
    (
        "host_prefix[:2] | ansible.utils.ipaddr('subnet')",
        ["2001:db8:deaf:be11::/64", "192.0.2.0/24"],
    ),
    ("host_prefix[:2] | ansible.utils.ipaddr('prefix')", [64, 24]),
    ("'192.0.2.0/24' | ansible.utils.ipaddr('hostmask')", "0.0.0.255"),
    # Converting subnet masks to CIDR notation
    ("'192.168.0.0/255.255.255.0' | ansible.utils.ipaddr('prefix')", 24),
    ("'192.168.0.0/255.255.255.0' | ansible.utils.ipaddr('net')", "192.168.0.0/24"),
    ("'192.168.0.11/255.255.255.0' | ansible.utils.ipaddr('network/prefix')", "192.168.0.0/24"),
    # IP address conversion
    (
        "test_list | ansible.utils.ipv4('ipv6')",
        ["::ffff:192.24.2.1/128", "::ffff:192.168.32.0/120"],
    ),
    ("test_list | ansible.utils.ipv6('ipv4')", ["0.0.0.1/32"]),
    (
        "test_list | ansible.utils.ipaddr('ipv6') | ansible.utils.ipaddr('ipv4')",
        ["192.24.2.1/32", "0.0.0.1/32", "192.168.32.0/24"],
    ),
    ("'192.24.2.1' | ansible.utils.ipaddr('int')", 3222798849),
    ("'192.168.32.0/24' | ansible.utils.ipaddr('int')", "3232243712/24"),
    (
        "test_list | ansible.utils.ipaddr | map('ansible.utils.ipaddr', 'revdns')",
        [
            "1.2.24.192.in-addr.arpa.",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
            "0.32.168.192.in-addr.arpa.",
            "0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa.",
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.a.a.f.c.2.3.0.8.b.d.0.1.0.0.2.ip6.arpa.",
        ],
    ),
]


@pytest.mark.parametrize(("expression", "expected"), GUIDE)
def test_the_guides_examples(templar: Templar, expression: str, expected: Any) -> None:
    assert templar.render_string("{{ " + expression + " }}", VARS) == expected


MORE: list[tuple[str, Any]] = [
    # what kubespray's validate_inventory asks (a subnet inside another is None)
    ("'10.233.0.0/18' | ansible.utils.ipaddr('net') is not false", True),
    ("'10.233.64.0/18' | ansible.utils.ipaddr('10.233.0.0/18') | string", "None"),
    ("'10.233.64.0/18' | ansible.utils.ipaddr('10.233.0.0/16')", "10.233.64.0/18"),
    ("'10.233.64.0/18' | ansible.utils.ipaddr('prefix')", 18),
    ("'10.0.0.1' | ipaddr('fd00::/8')", None),
    # usable ranges of a network (an address is an error: it has none)
    ("'192.0.2.0/24' | ipaddr('first_usable')", "192.0.2.1"),
    ("'192.0.2.0/24' | ipaddr('last_usable')", "192.0.2.254"),
    ("'192.0.2.0/24' | ipaddr('range_usable')", "192.0.2.1-192.0.2.254"),
    ("'192.0.2.10/24' | ipaddr('next_usable')", "192.0.2.11"),
    ("'192.0.2.254/24' | ipaddr('next_usable')", None),
    ("'192.0.2.10/24' | ipaddr('previous_usable')", "192.0.2.9"),
    ("'192.0.2.0/24' | ipaddr('size_usable')", 254),
    ("'192.0.2.0/31' | ipaddr('size_usable')", 2),
    ("'192.0.2.0/31' | ipaddr('broadcast')", None),
    ("'192.0.2.1/31' | ipaddr('peer')", "192.0.2.0"),
    ("'192.0.2.1/30' | ipaddr('peer')", "192.0.2.2"),
    ("'::/120' | ipaddr('first_usable')", "::1"),
    # other queries
    ("'192.0.2.5/24' | ipaddr('type')", "address"),
    ("'192.0.2.0/24' | ipaddr('type')", "network"),
    ("'2001:db8::1' | ipaddr('version')", 6),
    ("'192.0.2.5/24' | ipaddr('ip/prefix')", "192.0.2.5/24"),
    ("'192.0.2.5/24' | ipaddr('ip_netmask')", "192.0.2.5 255.255.255.0"),
    ("'192.0.2.5/24' | ipaddr('network_netmask')", "192.0.2.0 255.255.255.0"),
    ("'192.0.2.5/24' | ipaddr('network_wildcard')", "192.0.2.0 0.0.0.255"),
    ("'192.0.2.5/24' | ipaddr('cidr')", "192.0.2.5/24"),
    ("'192.0.2.0/24' | ipaddr('address/prefix')", False),
    ("'127.0.0.1' | ipaddr('loopback')", "127.0.0.1"),
    ("'169.254.1.1' | ipaddr('link-local')", "169.254.1.1"),
    ("'224.0.0.1' | ipaddr('multicast')", "224.0.0.1"),
    ("'224.0.0.1' | ipaddr('unicast')", None),
    ("'8.8.8.8' | ipaddr('public')", "8.8.8.8"),
    ("'10.1.2.3' | ipaddr('public')", None),
    ("'10.1.2.3' | ipaddr('private')", "10.1.2.3"),
    ("'10.1.2.3' | ipaddr('bool')", True),
    ("'2001:db8::1' | ipwrap", "[2001:db8::1]"),
    ("'db1' | ipwrap", "db1"),
    # an IPv4-mapped address is written as netaddr writes it
    ("'::ffff:192.0.2.1' | ipaddr", "::ffff:192.0.2.1"),
    # ipmath (ansible.utils' guide: ipmath_filter)
    ("'192.168.1.5' | ansible.utils.ipmath(5)", "192.168.1.10"),
    ("'192.168.0.5/24' | ansible.utils.ipmath(-10)", "192.167.255.251"),
    ("'2001::1' | ansible.utils.ipmath(10)", "2001::b"),
    ("'2001::5' | ansible.utils.ipmath(-10)", "2000:ffff:ffff:ffff:ffff:ffff:ffff:fffb"),
    # the older collection's names
    ("'192.0.2.5/24' | ansible.netcommon.ipaddr('network')", "192.0.2.0"),
    ("['192.0.2.5', '::1'] | ansible.netcommon.ipv4", ["192.0.2.5"]),
]


@pytest.mark.parametrize(("expression", "expected"), MORE)
def test_queries(templar: Templar, expression: str, expected: Any) -> None:
    assert templar.render_string("{{ " + expression + " }}", VARS) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("'192.0.2.1' | ipaddr('nonsense')", "ipaddr: unknown filter type: nonsense"),
        ("'192.0.2.1' | ipv4('nonsense')", "ipv4: unknown filter type: nonsense"),
        ("'192.0.2.1' | ipaddr('first_usable')", "ipaddr: 'first_usable' needs a network"),
        ("'192.0.2.0/24' | ipaddr('peer')", "has no peer"),
        ("'nope' | ipmath(1)", "ipmath: you must pass a valid IP address; nope is invalid"),
        ("'192.0.2.1' | ipmath('1')", "you must pass an integer for arithmetic; 1 is not"),
        ("'255.255.255.255' | ipmath(1)", "out of the address range"),
    ],
)
def test_misuse_is_a_clear_error(templar: Templar, expression: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ " + expression + " }}", VARS)
    assert message in caught.value.message
    assert "\n" not in caught.value.message

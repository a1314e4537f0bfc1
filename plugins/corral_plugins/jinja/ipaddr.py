"""ansible.utils' IP filters: ``ipaddr``, ``ipv4``, ``ipv6``, ``ipwrap`` and ``ipmath``.

Inventories and roles (kubespray's among them) check and take apart addresses with
``kube_pods_subnet | ansible.utils.ipaddr('net')``. ansible.utils builds these filters
on the ``netaddr`` library; corral gives the same answers with Python's ``ipaddress``.
Each filter is also registered under ``ansible.utils.`` and under ``ansible.netcommon.``,
the collection they lived in before.

The rules are ansible.utils': a value that is no address gives False, a query that
does not hold gives None (or drops the item from a list), a query that is an address
or network keeps the values inside it, and an integer query picks the address at that
index of the network. A value keeps its host bits (``192.0.2.48/24`` is the address
192.0.2.48 in the network 192.0.2.0/24), as a netaddr ``IPNetwork`` does.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Undefined

from corral import TemplateError

__all__ = ["IP_FILTERS", "ipaddr", "ipmath", "ipwrap"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


def text(ip: Address) -> str:
    """An address as netaddr writes it: IPv6 through inet_ntop (``::ffff:192.0.2.1``)."""
    if ip.version == 6:
        return socket.inet_ntop(socket.AF_INET6, ip.packed)
    return str(ip)


@dataclass(frozen=True)
class IPValue:
    """An address with its prefix, host bits kept (netaddr's ``IPNetwork``)."""

    ip: Address
    prefixlen: int

    @property
    def network(self) -> Network:
        return ipaddress.ip_network(f"{self.ip}/{self.prefixlen}", strict=False)

    @property
    def version(self) -> int:
        return self.ip.version

    @property
    def size(self) -> int:
        return self.network.num_addresses

    @property
    def broadcast(self) -> Address | None:
        # netaddr has none for /31 and /32 (and /127, /128)
        if self.ip.max_prefixlen - self.prefixlen <= 1:
            return None
        return self.network.broadcast_address

    def __str__(self) -> str:
        return f"{text(self.ip)}/{self.prefixlen}"

    @property
    def cidr(self) -> str:
        """The network, as netaddr writes it."""
        return f"{text(self.network.network_address)}/{self.prefixlen}"

    def address(self, number: int) -> Address:
        """The address ``number`` of this value's family (5 is ``::5`` for IPv6)."""
        return type(self.ip)(number)

    def at(self, index: int) -> Address:
        """The address at ``index`` of the network, from its end when negative."""
        if not -self.size <= index < self.size:
            raise IndexError(index)
        return self.address(int(self.network.network_address) + index % self.size)


def parse(value: Any, version: int = 0) -> tuple[IPValue, str, str] | None:
    """``value`` read as ansible.utils reads it: (address, its text, its kind) or None.

    The kind is ``address`` for a bare address or an integer, ``network`` for a value
    with a prefix. An integer is an IPv4 address when it fits, else IPv6 (IPv6 only
    when ``version`` is 6); ``523454/24`` is an integer with a prefix.
    """
    if str(value).isdigit():
        # 2**128 has 39 digits; longer text would only make int() slow (or refuse it)
        number = int(value) if len(str(value)) <= 39 else 2**128
        if number >= 2**128:
            return None
        family = 6 if version == 6 or number > 2**32 - 1 else 4
        ip = ipaddress.ip_address(number) if family == 4 else ipaddress.IPv6Address(number)
        parsed = IPValue(ip, ip.max_prefixlen)
        return parsed, str(parsed), "address"
    if not isinstance(value, str):
        return None
    try:
        interface = ipaddress.ip_interface(value)
    except ValueError:
        return _numeric_cidr(value)
    parsed = IPValue(interface.ip, interface.network.prefixlen)
    return parsed, value, "network" if "/" in value else "address"


def _numeric_cidr(value: str) -> tuple[IPValue, str, str] | None:
    address, _, prefix = value.partition("/")
    if not (address.isdigit() and prefix.isdigit()):
        return None
    for family in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        try:
            ip = family(int(address))
        except ValueError:
            continue
        if int(prefix) <= ip.max_prefixlen:
            parsed = IPValue(ip, int(prefix))
            return parsed, str(parsed), "network"
    return None


# --- the queries: each takes the address, its kind and the value as given ---------------


def _host_part(v: IPValue) -> bool:
    """Whether the value is an address inside its network, not the network itself."""
    return v.ip != v.network.network_address


def _address(v: IPValue, kind: str, value: str) -> Any:
    if v.size == 1 or _host_part(v) or v.broadcast is None or v.version == 6:
        return text(v.ip)
    return None


def _address_prefix(v: IPValue, kind: str, value: str) -> Any:
    if v.size > 2 and v.ip in (v.network.network_address, v.broadcast):
        return False
    return str(v)


def _host(v: IPValue, kind: str, value: str) -> Any:
    if v.size == 1 or _host_part(v) or v.broadcast is None:
        return str(v)
    return None


def _ip_prefix(v: IPValue, kind: str, value: str, sep: str = "/") -> Any:
    if v.size == 2 or (v.size > 1 and _host_part(v)):
        return f"{text(v.ip)}{sep}{v.prefixlen if sep == '/' else text(v.network.netmask)}"
    return None


def _usable(v: IPValue) -> tuple[int, int]:
    first, last = int(v.network.network_address), int(v.network.broadcast_address)
    return (first, last) if v.size == 2 else (first + 1, last - 1)


def _needs_network(query: str) -> Callable[[IPValue, str, str], Any]:
    def answer(v: IPValue, kind: str, value: str) -> Any:
        if kind == "address":
            raise TemplateError(f"ipaddr: {query!r} needs a network, not an address")
        if v.size == 1:
            return None
        first, last = _usable(v)
        if query == "first_usable":
            return text(v.address(first))
        if query == "last_usable":
            return text(v.address(last))
        if query == "range_usable":
            return f"{text(v.address(first))}-{text(v.address(last))}"
        step = 1 if query == "next_usable" else -1
        near = int(v.ip) + step
        return text(v.address(near)) if first <= near <= last else None

    return answer


def _peer(v: IPValue, kind: str, value: str) -> Any:
    if kind == "address":
        raise TemplateError("ipaddr: 'peer' needs a network, not an address")
    if v.size == 2:
        return text(v.address(int(v.ip) ^ 1))
    if v.size == 4 and int(v.ip) % 4 in (1, 2):
        return text(v.address(int(v.ip) ^ 3))
    raise TemplateError(f"ipaddr: {value} has no peer (not a point-to-point /31 or /30 host)")


def _to_ipv4(v: IPValue, kind: str, value: str) -> Any:
    if v.version == 4:
        return value
    number = int(v.ip)
    if number > 0xFFFFFFFFFFFF or v.prefixlen < 96:  # neither IPv4-compatible nor mapped
        return False
    if number > 0xFFFFFFFF:
        number -= 0xFFFF00000000
    return f"{ipaddress.IPv4Address(number)}/{v.prefixlen - 96}"


def _to_ipv6(v: IPValue, kind: str, value: str) -> Any:
    if v.version == 6:
        return value
    return f"::ffff:{v.ip}/{96 + v.prefixlen}"


def _public(v: IPValue, kind: str, value: str) -> Any:
    number, width = int(v.ip), v.ip.max_prefixlen
    inverted = number ^ (2**width - 1)
    netmask = (inverted + 1) & inverted == 0  # 255.255.255.0: ones, then zeros
    hostmask = (number + 1) & number == 0  # 0.0.0.255: zeros, then ones
    special = v.ip.is_multicast or v.ip.is_loopback or netmask or hostmask
    return value if v.ip.is_global and not special else None


def _pair(first: Address, second: Address) -> str:
    return f"{text(first)} {text(second)}"


def _when(test: Callable[[IPValue], bool]) -> Callable[[IPValue, str, str], Any]:
    def answer(v: IPValue, kind: str, value: str) -> Any:
        return value if test(v) else None

    return answer


def _wrap(v: IPValue, kind: str, value: str) -> Any:
    if v.version == 4:
        return value
    return f"[{text(v.ip)}]" if kind == "address" else f"[{text(v.ip)}]/{v.prefixlen}"


def _int(v: IPValue, kind: str, value: str) -> Any:
    return int(v.ip) if kind == "address" else f"{int(v.ip)}/{v.prefixlen}"


def _revdns(v: IPValue, kind: str, value: str) -> Any:
    return v.ip.reverse_pointer + "."


def _net(v: IPValue, kind: str, value: str) -> Any:
    return v.cidr if v.size > 1 and not _host_part(v) else None


def _kind(v: IPValue, kind: str, value: str) -> Any:
    return "network" if v.size > 1 and not _host_part(v) else "address"


def _size_usable(v: IPValue, kind: str, value: str) -> Any:
    return {1: 0, 2: 2}.get(v.size, v.size - 2)


def _empty(v: IPValue, kind: str, value: str) -> Any:
    return text(v.ip) if kind == "address" else str(v)


_PREFIXED = _address_prefix  # ansible.utils keeps these old names of 'address/prefix'
QUERIES: dict[str, Callable[[IPValue, str, str], Any]] = {
    "": _empty,
    "address": _address,
    "ip": _address,
    "address/prefix": _PREFIXED,
    "host/prefix": _PREFIXED,
    "gateway": _PREFIXED,
    "gw": _PREFIXED,
    "hostnet": _PREFIXED,
    "router": _PREFIXED,
    "bool": lambda v, kind, value: True,
    "broadcast": lambda v, kind, value: text(v.broadcast) if v.size > 2 and v.broadcast else None,
    "cidr": lambda v, kind, value: str(v),
    "first_usable": _needs_network("first_usable"),
    "last_usable": _needs_network("last_usable"),
    "next_usable": _needs_network("next_usable"),
    "previous_usable": _needs_network("previous_usable"),
    "range_usable": _needs_network("range_usable"),
    "host": _host,
    "hostmask": lambda v, kind, value: text(v.network.hostmask),
    "wildcard": lambda v, kind, value: text(v.network.hostmask),
    "int": _int,
    "ip/prefix": _ip_prefix,
    "ip_netmask": lambda v, kind, value: _ip_prefix(v, kind, value, " "),
    "ipv4": _to_ipv4,
    "v4": _to_ipv4,
    "ipv6": _to_ipv6,
    "v6": _to_ipv6,
    "link-local": _when(lambda v: any(v.ip in net for net in _LINK_LOCAL)),
    "lo": _when(lambda v: v.ip.is_loopback),
    "loopback": _when(lambda v: v.ip.is_loopback),
    "multicast": _when(lambda v: v.ip.is_multicast),
    "unicast": _when(lambda v: not v.ip.is_multicast),
    "private": _when(lambda v: not v.ip.is_global),
    "public": _public,
    "net": _net,
    "netmask": lambda v, kind, value: text(v.network.netmask),
    "network": lambda v, kind, value: text(v.network.network_address),
    "network_id": lambda v, kind, value: text(v.network.network_address),
    "network/prefix": lambda v, kind, value: v.cidr,
    "subnet": lambda v, kind, value: v.cidr,
    "network_netmask": lambda v, kind, value: _pair(v.network.network_address, v.network.netmask),
    "network_wildcard": lambda v, kind, value: _pair(v.network.network_address, v.network.hostmask),
    "peer": _peer,
    "prefix": lambda v, kind, value: v.prefixlen,
    "revdns": _revdns,
    "size": lambda v, kind, value: v.size,
    "size_usable": _size_usable,
    "type": _kind,
    "version": lambda v, kind, value: v.version,
    "wrap": _wrap,
}
"""ansible.utils' ipaddr queries (its ``6to4`` is left out)."""

HINT = (
    "a query is one of "
    + ", ".join(repr(q) for q in sorted(QUERIES) if q)
    + (", a network (the values inside it) or an index")
)


def ipaddr(value: Any, query: Any = "", version: int = 0, alias: str = "ipaddr") -> Any:
    """``value`` if it is an IP address or network (False if not), or the ``query`` of it.

    A list gives the answers that are not false or None, as ansible.utils does.
    """
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    query = "" if query is None else str(query)
    if isinstance(value, list | tuple):
        answers = (ipaddr(item, query, version, alias) for item in value)
        return [answer for answer in answers if answer]
    if not value or value is True:
        return False
    parsed = parse(value, version)
    if parsed is None:
        return False
    v, value, kind = parsed
    inside = None if query in QUERIES or query.isdigit() else _network_query(query)
    if version and v.version != version:
        return False
    if inside is not None:
        return value if _within(v.network, inside) else None
    return _answer(v, kind, value, query, alias)


def _answer(v: IPValue, kind: str, value: str, query: str, alias: str) -> Any:
    answer = QUERIES.get(query)
    if answer is not None:
        return answer(v, kind, value)
    return _index(v, kind, query, alias)


def _within(network: Network, outer: Network) -> bool:
    if isinstance(network, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return network.subnet_of(outer)
    if isinstance(network, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return network.subnet_of(outer)
    return False  # another IP version


def _network_query(query: str) -> Network | None:
    parsed = parse(query) if query else None
    return None if parsed is None else parsed[0].network


def _index(v: IPValue, kind: str, query: str, alias: str) -> Any:
    try:
        float(query)
    except ValueError:
        raise TemplateError(f"{alias}: unknown filter type: {query}", hint=HINT) from None
    if v.size == 1:
        return text(v.ip) if kind == "address" else str(v)
    try:
        return f"{text(v.at(int(query)))}/{v.prefixlen}"
    except (ValueError, IndexError):  # '1.5', or past the end of the network
        return False


def ipv4(value: Any, query: Any = "") -> Any:
    """``ipaddr`` for IPv4 values only."""
    return ipaddr(value, query, version=4, alias="ipv4")


def ipv6(value: Any, query: Any = "") -> Any:
    """``ipaddr`` for IPv6 values only."""
    return ipaddr(value, query, version=6, alias="ipv6")


def ipwrap(value: Any, query: Any = "") -> Any:
    """IPv6 addresses in ``[ ]``; anything else (names, IPv4) as it is."""
    try:
        if isinstance(value, list | tuple):
            return [
                ipaddr(item, "wrap") if ipaddr(item, query, alias="ipwrap") else item
                for item in value
            ]
        found = ipaddr(value, query, alias="ipwrap")
        return ipaddr(found, "wrap") if found else value
    except TemplateError:  # ansible.utils gives the value back on any error
        return value


def ipmath(value: Any, amount: Any) -> str:
    """The address ``amount`` addresses after (or, negative, before) ``value``'s."""
    try:
        ip: Address = (
            ipaddress.ip_interface(value).ip
            if "/" in str(value)
            else ipaddress.ip_address(str(value))
        )
    except ValueError:
        raise TemplateError(
            f"ipmath: you must pass a valid IP address; {value} is invalid"
        ) from None
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TemplateError(
            f"ipmath: you must pass an integer for arithmetic; {amount} is not a valid integer"
        )
    try:
        return text(ip + amount)
    except ipaddress.AddressValueError:
        raise TemplateError(f"ipmath: {value} + {amount} is out of the address range") from None


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ipaddr": ipaddr,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "ipwrap": ipwrap,
    "ipmath": ipmath,
}
IP_FILTERS: dict[str, Callable[..., Any]] = {
    f"{prefix}{name}": function
    for name, function in _FUNCTIONS.items()
    for prefix in ("", "ansible.utils.", "ansible.netcommon.")
}
"""The IP filters under their short names and both collections' names."""

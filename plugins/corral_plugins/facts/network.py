"""Network facts: interfaces, their addresses, the default IPv4 and IPv6 routes.

From ``ip -o addr``, ``ip route get`` (a route look-up, nothing is sent) and
``/sys/class/net``; without ``ip``, the default route comes from ``/proc/net/route``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from typing import Any

from corral_plugins.facts.raw import Raw

__all__ = ["network_facts"]

# /sys/class/net/*/type, as Ansible names them.
_TYPES = {"1": "ether", "32": "infiniband", "512": "ppp", "772": "loopback", "65534": "tunnel"}


def network_facts(raw: Raw) -> dict[str, Any]:
    interfaces = _devices(raw)
    all_v4: list[str] = []
    all_v6: list[str] = []
    for line in raw.all("addr"):
        found = _address(line)
        if found is None:
            continue
        name, family, entry = found
        device = interfaces.setdefault(name, {"device": name})
        if family == "inet":
            all_v4.append(entry["address"])
            if "ipv4" not in device:
                device["ipv4"] = entry
            else:
                device.setdefault("ipv4_secondaries", []).append(entry)
        else:
            all_v6.append(entry["address"])
            device.setdefault("ipv6", []).append(entry)
    facts: dict[str, Any] = {
        "default_ipv4": _default(raw, "route.get4", "ipv4", interfaces),
        "default_ipv6": _default(raw, "route.get6", "ipv6", interfaces),
        "all_ipv4_addresses": [a for a in all_v4 if not a.startswith("127.")],
        "all_ipv6_addresses": [a for a in all_v6 if a != "::1"],
    }
    if raw.all("netdev"):
        # Only with the device list: without it the names come from addresses alone.
        facts["interfaces"] = [name.replace(":", "_") for name in interfaces]
        for name, device in interfaces.items():
            facts[name.replace(":", "_")] = device
    return facts


def _devices(raw: Raw) -> dict[str, dict[str, Any]]:
    """``/sys/class/net``: each device's type, MTU, state, flags, speed, PCI id and MAC address.

    The script prints ``name type mtu operstate flags speed pciid address``, ``-`` for
    what a device does not have.
    """
    devices: dict[str, dict[str, Any]] = {}
    for line in raw.all("netdev"):
        words = line.split()
        if len(words) != 8:
            continue
        name, kind, mtu, state, flags, speed, pciid, address = words
        device: dict[str, Any] = {"device": name, "type": _TYPES.get(kind, "unknown")}
        if address != "-" and kind != "772":
            device["macaddress"] = address
        if mtu.isdigit():
            device["mtu"] = int(mtu)
        if state != "-":
            device["active"] = state != "down"
        with contextlib.suppress(ValueError):
            device["promisc"] = int(flags, 16) & 0x100 > 0
        if pciid != "-":
            device["pciid"] = pciid
        with contextlib.suppress(ValueError):
            device["speed"] = int(speed)
        devices[name] = device
    return devices


def _address(line: str) -> tuple[str, str, dict[str, Any]] | None:
    """One ``ip -o addr`` line: the interface, ``inet``/``inet6`` and the address entry."""
    words = line.split()
    family = "inet" if "inet" in words else "inet6" if "inet6" in words else ""
    if not family or len(words) <= words.index(family) + 1:
        return None
    name = words[1].split("@")[0]
    try:
        found = ipaddress.ip_interface(words[words.index(family) + 1])
    except ValueError:
        return None
    if family == "inet":
        broadcast = words[words.index("brd") + 1] if "brd" in words[:-1] else ""
        return (
            name,
            family,
            {
                "address": str(found.ip),
                "broadcast": broadcast,
                "netmask": str(found.netmask),
                "network": str(found.network.network_address),
                "prefix": str(found.network.prefixlen),
            },
        )
    scope = words[words.index("scope") + 1] if "scope" in words[:-1] else ""
    return (
        name,
        family,
        {"address": str(found.ip), "prefix": str(found.network.prefixlen), "scope": scope},
    )


def _default(  # noqa: PLR0912 - Ansible's rules, kept in one place
    raw: Raw, key: str, family: str, interfaces: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The interface a packet to the internet would leave by, and its address (as Ansible)."""
    route = (raw.get(key) or (raw.get("route.default", "") if family == "ipv4" else "")).split()
    default: dict[str, Any] = {}
    if "dev" in route[:-1]:
        default["interface"] = route[route.index("dev") + 1]
    if "via" in route[:-1]:
        default["gateway"] = route[route.index("via") + 1]
    if family == "ipv4" and not route and len(raw.get("route.proc", "").split()) == 2:
        name, gateway_hex = raw["route.proc"].split()
        default["interface"] = name
        with contextlib.suppress(ValueError, struct.error):
            default["gateway"] = socket.inet_ntoa(struct.pack("<I", int(gateway_hex, 16)))
    source = route[route.index("src") + 1] if "src" in route[:-1] else ""
    found = interfaces.get(default.get("interface", ""))
    if found is None:
        return default
    device: dict[str, Any] = found
    if family == "ipv4" and "ipv4" in device:
        entry = device["ipv4"]
        if source:  # the route's source address, when the interface has several
            for candidate in (entry, *device.get("ipv4_secondaries", [])):
                if candidate["address"] == source:
                    entry = candidate
        default.update(entry)
        default["alias"] = default["interface"]
    elif family == "ipv6":
        for entry in device.get("ipv6", []):
            if entry["address"] == source or (not source and entry["scope"] == "global"):
                default.update(entry)
                break
    for name in ("macaddress", "mtu", "type"):
        if name in device:
            default[name] = device[name]
    return default

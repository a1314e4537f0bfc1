"""Turn what the setup script printed into Ansible-named facts: platform, OS, Python, user.

Pure functions over the captured text, tested on output captured from real hosts;
system, hardware and network facts have modules of their own.
"""

from __future__ import annotations

import shlex
from typing import Any

from corral_plugins.facts.hardware import hardware_facts
from corral_plugins.facts.network import network_facts
from corral_plugins.facts.raw import Raw
from corral_plugins.facts.system import system_facts, virtual_facts

__all__ = ["parse_setup_output"]

# os-release ID -> Ansible's distribution name; anything else is capitalised.
_DISTRIBUTIONS = {
    "almalinux": "AlmaLinux",
    "alpine": "Alpine",
    "amzn": "Amazon",
    "arch": "Archlinux",
    "centos": "CentOS",
    "debian": "Debian",
    "devuan": "Devuan",
    "fedora": "Fedora",
    "kali": "Kali",
    "linuxmint": "Linux Mint",
    "ol": "OracleLinux",
    "opensuse-leap": "openSUSE Leap",
    "opensuse-tumbleweed": "openSUSE Tumbleweed",
    "pop": "Pop!_OS",
    "raspbian": "Raspbian",
    "rhel": "RedHat",
    "rocky": "Rocky",
    "sles": "SLES",
    "ubuntu": "Ubuntu",
}
# Ansible's OS_FAMILY_MAP, for the distributions above; a family not listed is the name.
_FAMILIES = {
    **dict.fromkeys(
        ["RedHat", "Fedora", "CentOS", "OracleLinux", "Amazon", "AlmaLinux", "Rocky"], "RedHat"
    ),
    **dict.fromkeys(
        ["Debian", "Ubuntu", "Raspbian", "Linux Mint", "Kali", "Devuan", "Pop!_OS"], "Debian"
    ),
    **dict.fromkeys(["SLES", "openSUSE Leap", "openSUSE Tumbleweed"], "Suse"),
    "Archlinux": "Archlinux",
    "Alpine": "Alpine",
    "MacOSX": "Darwin",
}


def parse_setup_output(text: str) -> dict[str, Any]:
    """Turn the ``key=value`` lines the setup script prints into Ansible-named facts."""
    raw = Raw.parse(text)
    facts: dict[str, Any] = {}
    facts.update(_platform_facts(raw))
    facts.update(_distribution_facts(raw))
    facts.update(_python_facts(raw))
    facts.update(_user_facts(raw))
    facts.update(system_facts(raw, facts))
    if "cpu.online" in raw or "cpu.processors" in raw:
        facts.update(hardware_facts(raw))
    if raw.has_any("route.default", "route.get4", "route.proc", "addr", "netdev"):
        facts.update(network_facts(raw))
    if raw.has_any("virt", "cgroup") or "/.dockerenv" in raw.all("exists"):
        facts.update(virtual_facts(raw))
    return facts


def _platform_facts(raw: Raw) -> dict[str, Any]:
    nodename = raw.get("nodename", "")
    # Python's socket.getfqdn() is what Ansible reports; hostname -f without Python.
    fqdn = raw.get("python.fqdn") or raw.get("fqdn") or nodename
    return {
        "system": raw.get("system", ""),
        "kernel": raw.get("kernel", ""),
        "kernel_version": raw.get("kernel_version", ""),
        "machine": raw.get("machine", ""),
        "architecture": raw.get("machine", ""),
        "nodename": nodename,
        "hostname": nodename.split(".")[0],
        "fqdn": fqdn,
        "domain": fqdn.partition(".")[2],
    }


def _unquote(value: str) -> str:
    try:
        parts = shlex.split(value)
    except ValueError:
        return value.strip("\"'")
    return " ".join(parts)


def _distribution_facts(raw: Raw) -> dict[str, Any]:
    release = {
        key[11:]: _unquote(value) for key, value in raw.items() if key.startswith("os_release.")
    }
    system = raw.get("system", "")
    if system == "Darwin":
        name, version, codename = "MacOSX", raw.get("macos_version", ""), ""
    elif release:
        os_id = release.get("ID", "").lower()
        name = _DISTRIBUTIONS.get(os_id) or release.get("NAME") or os_id.capitalize()
        version = release.get("VERSION_ID", "")
        codename = release.get("VERSION_CODENAME") or release.get("UBUNTU_CODENAME", "")
        debian_version = raw.get("debian_version", "")
        if name == "Debian" and debian_version[:1].isdigit():
            version = debian_version  # the point release, e.g. 12.11, as Ansible reports
    else:
        name, version, codename = system, raw.get("kernel", ""), ""
    return {
        "distribution": name,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
        "distribution_release": codename,
        "os_family": _FAMILIES.get(name, name),
    }


def _python_facts(raw: Raw) -> dict[str, Any]:
    if "python.version" not in raw:
        return {}
    parts = raw["python.version"].split(".")
    try:
        major, minor, micro = (int(part) for part in parts[:3])
        level, serial = parts[3], int(parts[4])
    except (ValueError, IndexError):
        return {}  # not a CPython-style version line: leave the python facts out
    python: dict[str, Any] = {"executable": raw.get("python.executable", "")}
    if "python.ssl" in raw:
        python["has_sslcontext"] = raw["python.ssl"] == "1"
    return {
        "selinux_python_present": raw.get("python.selinux") == "1",
        "python": {
            **python,
            "type": raw.get("python.type", ""),
            "version": {
                "major": major,
                "minor": minor,
                "micro": micro,
                "releaselevel": level,
                "serial": serial,
            },
            "version_info": [major, minor, micro, level, serial],
        },
        "python_version": f"{major}.{minor}.{micro}",
    }


def _user_facts(raw: Raw) -> dict[str, Any]:
    facts: dict[str, Any] = {"user_id": raw.get("user.id", "")}
    for key in ("uid", "gid"):
        if raw.get(f"user.{key}", "").isdigit():
            facts[f"user_{key}"] = int(raw[f"user.{key}"])
    fields = raw.get("user.passwd", "").split(":")
    if len(fields) >= 7:
        facts.update(user_gecos=fields[4], user_dir=fields[5], user_shell=fields[6])
    return facts

"""The ``setup`` step: gather facts about the host in one round trip.

A short POSIX ``sh`` script (:data:`SETUP_SCRIPT`) prints ``key=value`` lines;
the pure function :func:`parse_setup_output` turns them into Ansible-named facts
(``hostname``, ``distribution``, ``default_ipv4``...), stored under
``ansible_facts`` (the engine adds the ``ansible_`` variables). It reads only
local files and commands, so it works on hosts with no network.

The fact set is deliberately small; ``docs/steps/setup.md`` lists it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import ipaddress
import shlex
import socket
import struct
from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl

__all__ = ["SETUP_SCHEMA", "SETUP_SCRIPT", "parse_setup_output", "setup"]

SETUP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "gather_subset": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string", "pattern": "^!?[a-z_]+$"}},
            ],
            "default": ["all"],
            "description": "Which facts to gather: `all` (default), `min`, `hardware`, "
            "`network`, or `!name` to leave one out; a list or a comma-separated string. "
            "Other Ansible subset names are accepted and fall under `min`.",
        },
        "filter": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "Keep only facts whose name matches one of these shell-style "
            "patterns (with or without the `ansible_` prefix).",
        },
        "gather_timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 10,
            "description": "Seconds fact gathering may take on the host.",
        },
    },
}

# "$@" names the subsets wanted beyond the minimal one ("hardware", "network").
SETUP_SCRIPT = r"""LC_ALL=C; export LC_ALL
wanted=" $* "
want() { case "$wanted" in *" $1 "*) return 0;; esac; return 1; }
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "kernel_version=$(uname -v)"
echo "machine=$(uname -m)"
echo "nodename=$(uname -n)"
if command -v timeout >/dev/null 2>&1; then fqdn=$(timeout 2 hostname -f 2>/dev/null)
else fqdn=$(hostname -f 2>/dev/null); fi
echo "fqdn=$fqdn"
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then sed -n 's/^\([A-Z_]*\)=/os_release.\1=/p' "$f"; break; fi
done
if [ -r /etc/debian_version ]; then echo "debian_version=$(cat /etc/debian_version)"; fi
if command -v sw_vers >/dev/null 2>&1; then echo "macos_version=$(sw_vers -productVersion)"; fi
for py in /usr/bin/python3 /usr/local/bin/python3 python3 /usr/bin/python python; do
  if command -v "$py" >/dev/null 2>&1; then
    "$py" -c 'import sys
print("python.executable=" + sys.executable)
print("python.version=%d.%d.%d.%s.%d" % tuple(sys.version_info))
print("python.type=" + sys.implementation.name)' 2>/dev/null && break
  fi
done
echo "user.id=$(id -un)"
echo "user.uid=$(id -u)"
echo "user.gid=$(id -g)"
pw=$(getent passwd "$(id -u)" 2>/dev/null) ||
  pw=$(awk -F: -v u="$(id -u)" '$3 == u' /etc/passwd 2>/dev/null)
echo "user.passwd=$pw"
if want hardware; then
  if [ -r /proc/cpuinfo ]; then
    echo "cpu.processors=$(grep -c '^processor' /proc/cpuinfo)"
    echo "cpu.sockets=$(grep '^physical id' /proc/cpuinfo | sort -u | wc -l)"
    echo "cpu.cores=$(grep -m1 '^cpu cores' /proc/cpuinfo | cut -d: -f2)"
  fi
  echo "cpu.online=$(getconf _NPROCESSORS_ONLN 2>/dev/null)"
  if [ -r /proc/meminfo ]; then
    awk '/^(Mem|Swap)(Total|Free):/ { sub(":", "", $1); print "mem." $1 "=" $2 }' /proc/meminfo
  fi
fi
if want network; then
  if command -v ip >/dev/null 2>&1; then
    ip -4 route show default 2>/dev/null | sed -n '1s/^/route.default=/p'
    ip -4 -o addr show 2>/dev/null | sed 's/^/addr=/'
  elif [ -r /proc/net/route ]; then
    awk '$2 == "00000000" { print "route.proc=" $1 " " $3; exit }' /proc/net/route
  fi
fi
exit 0
"""

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


def setup(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Gather facts about the host."""
    subset = _as_list(args.get("gather_subset", ["all"]))
    sections = sorted(_sections(subset))
    timeout = args.get("gather_timeout", 10)
    result = ctx.conn.run(
        ["/bin/sh", "-c", SETUP_SCRIPT, "setup", *sections], timeout=timeout, become=ctx.become
    )
    if result.timed_out:
        return StepResult(failed=True, msg=f"fact gathering timed out after {timeout:g} seconds")
    if result.rc != 0:
        return StepResult(failed=True, msg=f"fact gathering failed: {result.stderr.strip()}")
    facts = parse_setup_output(result.stdout)
    if "filter" in args:
        patterns = _as_list(args["filter"])
        facts = {key: value for key, value in facts.items() if _matches(key, patterns)}
    facts.update(gather_subset=subset, module_setup=True)
    return StepResult(facts=facts)


def _as_list(value: str | list[str]) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return list(value)


def _sections(subset: list[str]) -> set[str]:
    """The optional sections (``hardware``, ``network``) that Ansible's subset rules select."""
    optional = {"hardware", "network"}
    included = {item for item in subset if not item.startswith("!")}
    excluded = {item[1:] for item in subset if item.startswith("!")}
    chosen = set(optional) if "all" in included or not included else set()
    chosen |= included & optional
    if "all" in excluded:
        chosen &= included
    return chosen - excluded


def _matches(name: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(f"ansible_{name}", pattern)
        for pattern in patterns
    )


# -- the parser ----------------------------------------------------------------


def parse_setup_output(text: str) -> dict[str, Any]:
    """Turn the ``key=value`` lines :data:`SETUP_SCRIPT` prints into Ansible-named facts."""
    raw: dict[str, str] = {}
    addresses: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "addr":
            addresses.append(value)
        else:
            raw.setdefault(key, value.strip())
    facts: dict[str, Any] = {}
    facts.update(_platform_facts(raw))
    facts.update(_distribution_facts(raw))
    facts.update(_python_facts(raw))
    facts.update(_user_facts(raw))
    if "cpu.online" in raw or "cpu.processors" in raw:
        facts.update(_hardware_facts(raw))
    if "route.default" in raw or "route.proc" in raw or addresses:
        facts.update(_network_facts(raw, addresses))
    return facts


def _platform_facts(raw: dict[str, str]) -> dict[str, Any]:
    nodename = raw.get("nodename", "")
    fqdn = raw.get("fqdn") or nodename
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


def _distribution_facts(raw: dict[str, str]) -> dict[str, Any]:
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


def _python_facts(raw: dict[str, str]) -> dict[str, Any]:
    if "python.version" not in raw:
        return {}
    parts = raw["python.version"].split(".")
    try:
        major, minor, micro = (int(part) for part in parts[:3])
        level, serial = parts[3], int(parts[4])
    except (ValueError, IndexError):
        return {}  # not a CPython-style version line: leave the python facts out
    return {
        "python": {
            "executable": raw.get("python.executable", ""),
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


def _user_facts(raw: dict[str, str]) -> dict[str, Any]:
    facts: dict[str, Any] = {"user_id": raw.get("user.id", "")}
    for key in ("uid", "gid"):
        if raw.get(f"user.{key}", "").isdigit():
            facts[f"user_{key}"] = int(raw[f"user.{key}"])
    fields = raw.get("user.passwd", "").split(":")
    if len(fields) >= 7:
        facts.update(user_gecos=fields[4], user_dir=fields[5], user_shell=fields[6])
    return facts


def _hardware_facts(raw: dict[str, str]) -> dict[str, Any]:
    def number(key: str) -> int:
        value = raw.get(key, "").strip()
        return int(value) if value.isdigit() else 0

    vcpus = number("cpu.online") or number("cpu.processors")
    facts: dict[str, Any] = {
        "processor_vcpus": vcpus,
        "processor_count": number("cpu.sockets") or vcpus,
        "processor_cores": number("cpu.cores") or 1,
    }
    for key, fact in (
        ("MemTotal", "memtotal_mb"),
        ("MemFree", "memfree_mb"),
        ("SwapTotal", "swaptotal_mb"),
        ("SwapFree", "swapfree_mb"),
    ):
        if f"mem.{key}" in raw:
            facts[fact] = number(f"mem.{key}") // 1024
    return facts


def _network_facts(raw: dict[str, str], addresses: list[str]) -> dict[str, Any]:
    """``default_ipv4`` (the default route's interface and its first address) and all addresses."""
    interfaces: dict[str, list[ipaddress.IPv4Interface]] = {}
    for line in addresses:
        words = line.split()
        if "inet" not in words or len(words) <= words.index("inet") + 1:
            continue
        try:
            found = ipaddress.IPv4Interface(words[words.index("inet") + 1])
        except ValueError:
            continue
        interfaces.setdefault(words[1].split("@")[0], []).append(found)
    default: dict[str, Any] = {}
    route = raw.get("route.default", "").split()
    if "dev" in route:
        default["interface"] = route[route.index("dev") + 1]
    if "via" in route:
        default["gateway"] = route[route.index("via") + 1]
    if not route and len(raw.get("route.proc", "").split()) == 2:
        device, gateway_hex = raw["route.proc"].split()
        default["interface"] = device
        with contextlib.suppress(ValueError, struct.error):
            default["gateway"] = socket.inet_ntoa(struct.pack("<I", int(gateway_hex, 16)))
    if default.get("interface") in interfaces:
        first = interfaces[default["interface"]][0]
        default.update(
            address=str(first.ip),
            prefix=str(first.network.prefixlen),
            netmask=str(first.netmask),
            network=str(first.network.network_address),
        )
    every = [str(item.ip) for items in interfaces.values() for item in items]
    return {
        "default_ipv4": default,
        "all_ipv4_addresses": [address for address in every if not address.startswith("127.")],
    }


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``setup``."""
    register(
        StepType(
            name="setup",
            run=setup,
            schema=SETUP_SCHEMA,
            aliases=("ansible.builtin.setup", "ansible.legacy.setup"),
            check_mode=True,
            description="Gather facts about the host (OS, CPU, memory, network, Python, user).",
        )
    )

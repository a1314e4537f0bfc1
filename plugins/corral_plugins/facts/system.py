"""System facts: date and time, environment, package and service managers, SELinux, LSB, DNS.

Each follows the rules of Ansible's collector of the same name, applied on the
controller to what the setup script printed.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from corral_plugins.facts.raw import Raw

__all__ = ["system_facts", "virtual_facts"]

# Ansible's PKG_MGRS, in its order: the last one found wins.
_PKG_MGRS = (
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "dnf"),
    ("/usr/bin/dnf-3", "dnf"),
    ("/usr/bin/dnf5", "dnf5"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/usr/sbin/urpmi", "urpmi"),
    ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"),
    ("/usr/pkg/bin/pkgin", "pkgin"),
    ("/opt/local/bin/pkgin", "pkgin"),
    ("/opt/local/bin/port", "macports"),
    ("/usr/local/bin/brew", "homebrew"),
    ("/opt/homebrew/bin/brew", "homebrew"),
    ("/sbin/apk", "apk"),
    ("/usr/sbin/pkg", "pkgng"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/local/sbin/pkg", "pkgng"),
    ("/usr/bin/swupd", "swupd"),
)
_PROC_1_NAMES = {
    "procd": "openwrt_init",
    "runit-init": "runit",
    "svscan": "svc",
    "openrc-init": "openrc",
}


def system_facts(raw: Raw, found: dict[str, Any]) -> dict[str, Any]:
    """The system facts; ``found`` are the platform and distribution facts already parsed."""
    exists = set(raw.all("exists"))
    tools = set(raw.all("tool"))
    facts: dict[str, Any] = {
        "env": _env(raw),
        "pkg_mgr": _pkg_mgr(exists, raw, found.get("os_family", "")),
        "service_mgr": _service_mgr(exists, tools, raw, found),
        "selinux": _selinux(raw),
        "apparmor": {
            "status": "enabled" if "/sys/kernel/security/apparmor" in exists else "disabled"
        },
        "lsb": _lsb(raw),
        "dns": _dns(raw),
    }
    date_time = _date_time(raw)
    if date_time:
        facts["date_time"] = date_time
    if raw.get("machine_id"):
        facts["machine_id"] = raw["machine_id"]
    for key, fact in (
        ("user.ruid", "real_user_id"),
        ("user.uid", "effective_user_id"),
        ("user.rgid", "real_group_id"),
        ("user.gid", "effective_group_id"),
    ):
        if raw.get(key, "").isdigit():
            facts[fact] = int(raw[key])
    return facts


def _env(raw: Raw) -> dict[str, str]:
    env: dict[str, str] = {}
    for key in raw:
        if key.startswith("env."):
            value = raw.all(key)[0]
            env[key[4:]] = _unescape(value)
    return env


def _unescape(value: str) -> str:
    """Undo the script's escaping: ``\\n`` is a newline, ``\\\\`` a backslash."""
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append("\n" if following == "n" else following)
        else:
            out.append(char)
    return "".join(out)


def _date_time(raw: Raw) -> dict[str, str]:
    """Ansible's ``date_time``, from one ``date`` call on the host (its local time zone)."""
    words = raw.get("date", "").split()
    if len(words) < 13 or not words[6].isdigit():
        return {}
    year, month, day, hour, minute, second, epoch, tz, offset, weekday, wday, week, nanos = words[
        :13
    ]
    micro = f"{int(nanos) // 1000:06d}" if nanos.isdigit() else "000000"
    utc = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    return {
        "year": year,
        "month": month,
        "weekday": weekday,
        "weekday_number": wday,
        "weeknumber": week,
        "day": day,
        "hour": hour,
        "minute": minute,
        "second": second,
        "epoch": epoch,
        "epoch_int": epoch,
        "date": f"{year}-{month}-{day}",
        "time": f"{hour}:{minute}:{second}",
        "iso8601_micro": utc.strftime("%Y-%m-%dT%H:%M:%S.") + micro + "Z",
        "iso8601": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso8601_basic": f"{year}{month}{day}T{hour}{minute}{second}{micro}",
        "iso8601_basic_short": f"{year}{month}{day}T{hour}{minute}{second}",
        "tz": tz,
        "tz_dst": raw.get("tz_dst") or tz,
        "tz_offset": offset,
    }


def _pkg_mgr(exists: set[str], raw: Raw, family: str) -> str:
    name = "unknown"
    for path, manager in _PKG_MGRS:
        if path in exists:
            name = manager
    if family == "RedHat":
        if "/run/ostree-booted" in exists:
            return "atomic_container"
        if "/usr/bin/dnf" in exists or "/usr/bin/microdnf" in exists:
            return "dnf5" if raw.get("dnf_target") == "/usr/bin/dnf5" else "dnf"
        return "unknown"
    if family == "Debian":
        return "apt"
    if family == "Altlinux" and name == "apt":
        return "apt_rpm"
    return name


def _service_mgr(  # noqa: PLR0911 - Ansible's decision list, in its order
    exists: set[str], tools: set[str], raw: Raw, found: dict[str, Any]
) -> str:
    proc_1 = raw.get("proc1") or raw.get("sbin_init") or ""
    proc_1 = os.path.basename(proc_1.strip())
    if proc_1 and proc_1 != "init" and not proc_1.endswith("sh"):
        return _PROC_1_NAMES.get(proc_1, proc_1)
    system = found.get("system", "")
    if found.get("distribution") == "MacOSX":
        return "launchd"
    if "BSD" in system or system in ("Bitrig", "DragonFly"):
        return "bsdinit"
    if system == "Linux":
        systemd_dirs = {"/run/systemd/system/", "/dev/.run/systemd/", "/dev/.systemd/"}
        if "systemctl" in tools and exists & systemd_dirs:
            return "systemd"
        if "initctl" in tools and "/etc/init/" in exists:
            return "upstart"
        if "/sbin/openrc" in exists:
            return "openrc"
        if "systemctl" in tools and os.path.basename(raw.get("sbin_init", "")) == "systemd":
            return "systemd"
        if "/etc/init.d/" in exists:
            return "sysvinit"
        if "/etc/dinit.d/" in exists:
            return "dinit"
    return "service"


def _selinux(raw: Raw) -> dict[str, Any]:
    if "selinux.enforce" not in raw:
        return {"status": "disabled"}
    selinux: dict[str, Any] = {
        "status": "enabled",
        "mode": "enforcing" if raw["selinux.enforce"] == "1" else "permissive",
        "config_mode": raw.get("selinux.SELINUX", "unknown"),
        "type": raw.get("selinux.SELINUXTYPE", "unknown"),
    }
    if raw.get("selinux.policyvers", "").isdigit():
        selinux["policyvers"] = int(raw["selinux.policyvers"])
    return selinux


def _lsb(raw: Raw) -> dict[str, str]:
    """What ``lsb_release -a`` says (it reads os-release), else ``/etc/lsb-release``, else {}."""
    lsb: dict[str, str] = {}
    if "lsb.available" in raw:
        release = {key: _unquote(value) for key, value in raw.prefixed("os_release.").items()}
        found = {
            "id": release.get("NAME", "").split(" ")[0],
            "description": release.get("PRETTY_NAME", ""),
            "release": release.get("VERSION_ID", ""),
            "codename": release.get("VERSION_CODENAME") or release.get("UBUNTU_CODENAME", ""),
        }
        lsb.update({key: value for key, value in found.items() if value})
    else:
        names = {"ID": "id", "DESCRIPTION": "description", "RELEASE": "release"}
        for key, value in raw.prefixed("lsb_file.").items():
            if key in names or key == "CODENAME":
                lsb[names.get(key, "codename")] = _unquote(value)
    if "release" in lsb:
        lsb["major_release"] = lsb["release"].split(".")[0]
    return lsb


def _unquote(value: str) -> str:
    return value.strip().strip("\"'")


def _dns(raw: Raw) -> dict[str, Any]:
    dns: dict[str, Any] = {}
    nameservers = [value.split()[0] for value in raw.all("dns.nameserver") if value.split()]
    if nameservers:
        dns["nameservers"] = nameservers
    if raw.get("dns.domain"):
        dns["domain"] = raw["dns.domain"].split()[0]
    if raw.all("dns.search"):
        dns["search"] = raw.all("dns.search")[-1].split()
    options: dict[str, Any] = {}
    for line in raw.all("dns.options"):
        for option in line.split():
            key, sep, value = option.partition(":")
            options[key] = value if sep else True
    if options:
        dns["options"] = options
    return dns


def virtual_facts(raw: Raw) -> dict[str, Any]:
    """``virtualization_type`` and ``_role``: containers first, then what systemd says."""
    exists = set(raw.all("exists"))
    cgroups = " ".join(raw.all("cgroup"))
    if "/.dockerenv" in exists or "docker" in cgroups:
        kind, role = "docker", "guest"
    elif "/run/.containerenv" in exists:
        kind, role = "podman", "guest"
    elif "lxc" in cgroups:
        kind, role = "lxc", "guest"
    elif raw.get("virt") and raw["virt"] != "none":
        kind, role = raw["virt"], "guest"
    else:
        kind, role = "NA", "NA"
    return {"virtualization_type": kind, "virtualization_role": role}

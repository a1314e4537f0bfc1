"""``package_facts``: what is installed on the host, as ``ansible_facts.packages``.

One command lists every package (``dpkg-query`` on Debian and Ubuntu, ``rpm -qa`` on
Red Hat and SUSE, ``apk info`` on Alpine); the result maps each name to a list of
installed versions (several for multi-arch or kernels), in Ansible's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.packages.common import run_or_raise
from corral_plugins.packages.package import package_manager

__all__ = ["package_facts"]


# The manager whose database lists the packages of each ansible_pkg_mgr.
_BY_PKG_MGR = {
    "apt": "apt",
    "dnf": "rpm",
    "dnf5": "rpm",
    "yum": "rpm",
    "zypper": "rpm",
    "apk": "apk",
}

_DPKG_FORMAT = r"${binary:Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n"
_RPM_FORMAT = r"%{NAME}\t%{VERSION}\t%{RELEASE}\t%{EPOCH}\t%{ARCH}\n"


def package_facts(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Gather the installed packages into ``ansible_facts.packages``."""
    wanted = args.get("manager", ["auto"])
    managers = [wanted] if isinstance(wanted, str) else list(wanted)
    if "auto" in managers:
        found = _BY_PKG_MGR.get(package_manager(ctx))
        if found is None:
            return StepResult(failed=True, msg="Could not detect a supported package manager")
        managers = [found if m == "auto" else m for m in managers]
    packages: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []
    for manager in dict.fromkeys(managers):
        try:
            listed = _LISTERS[manager](ctx)
        except StepFailed as exc:
            errors.append(exc.message)
            continue
        for entry in listed:
            packages.setdefault(entry["name"], []).append(entry)
        if args.get("strategy", "first") == "first":
            break
    if not packages and errors:
        return StepResult(failed=True, msg="; ".join(errors))
    return StepResult(facts={"packages": packages})


def _apt(ctx: StepContext) -> list[dict[str, Any]]:
    listing = run_or_raise(ctx, ["dpkg-query", "-W", "-f", _DPKG_FORMAT], "dpkg-query")
    found = []
    for line in listing.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or not fields[3].startswith("ii"):
            continue  # only what is installed, as python-apt's is_installed
        name, version, arch = fields[0].split(":")[0], fields[1], fields[2]
        found.append({"name": name, "version": version, "arch": arch, "source": "apt"})
    return found


def _rpm(ctx: StepContext) -> list[dict[str, Any]]:
    listing = run_or_raise(ctx, ["rpm", "-qa", "--queryformat", _RPM_FORMAT], "rpm -qa")
    found = []
    for line in listing.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 5:
            continue
        name, version, release, epoch, arch = fields
        found.append(
            {
                "name": name,
                "version": version,
                "release": release,
                "epoch": None if epoch == "(none)" else int(epoch),
                "arch": arch,
                "source": "rpm",
            }
        )
    return found


def _apk(ctx: StepContext) -> list[dict[str, Any]]:
    listing = run_or_raise(ctx, ["apk", "info", "-v"], "apk info")
    found = []
    for line in listing.stdout.split():
        # name-version-rREL: the version starts at the last-but-one dash.
        parts = line.rsplit("-", 2)
        if len(parts) == 3:
            found.append({"name": parts[0], "version": f"{parts[1]}-{parts[2]}", "source": "apk"})
    return found


_LISTERS = {"apt": _apt, "rpm": _rpm, "apk": _apk}

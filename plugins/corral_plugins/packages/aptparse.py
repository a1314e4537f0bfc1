"""Reading what apt and dpkg print: package specs, installed versions, planned changes.

Pure functions, no host: the ``apt`` step feeds them the output of ``dpkg-query``,
``apt-cache madison`` and ``apt-get`` (run with ``LC_ALL=C``, so in English).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from corral import StepFailed

__all__ = [
    "DPKG_FORMAT",
    "Changes",
    "Installed",
    "matching_version",
    "parse_changes",
    "parse_dpkg_query",
    "parse_madison",
    "prepared_diff",
    "split_spec",
    "unavailable_packages",
]

# One line per package dpkg knows: name (with :arch for Multi-Arch: same), version, status.
DPKG_FORMAT = "${binary:Package}\\t${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"


def split_spec(spec: str) -> tuple[str, str | None]:
    """``foo=1.2*`` -> ("foo", "1.2*"); ``foo`` -> ("foo", None); StepFailed if malformed."""
    if spec.count("=") > 1:
        raise StepFailed(f"invalid package spec: {spec}")
    name, _, version = spec.partition("=")
    name, version = name.strip(), version.strip()
    if not name or (spec.count("=") == 1 and not version):
        raise StepFailed(f"invalid package spec: {spec}")
    return name, version or None


@dataclass(frozen=True)
class Installed:
    """A package as dpkg knows it."""

    name: str
    version: str
    status: str  # dpkg's db:Status-Abbrev, such as "ii " or "rc "

    @property
    def installed(self) -> bool:
        """Unpacked and configured (``ii``, ``hi``): what "present" means."""
        return len(self.status) > 1 and self.status[1] == "i"

    @property
    def config_files(self) -> bool:
        """Removed, its configuration files left behind (``rc``): what ``purge`` clears."""
        return len(self.status) > 1 and self.status[1] == "c"


def parse_dpkg_query(stdout: str) -> dict[str, Installed]:
    """``dpkg-query -W -f DPKG_FORMAT`` output, by name (and by name:arch)."""
    found: dict[str, Installed] = {}
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        binary, name, version, status = parts
        package = Installed(name, version, status)
        # An installed architecture wins over a config-files remnant of another.
        for key in {binary, name}:
            if key not in found or package.installed:
                found[key] = package
    return found


def parse_madison(stdout: str) -> dict[str, list[str]]:
    """``apt-cache madison`` output: each package's available versions, best first."""
    versions: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 3 or not parts[0] or not parts[1]:
            continue
        known = versions.setdefault(parts[0], [])
        if parts[1] not in known:
            known.append(parts[1])
    return versions


def matching_version(available: list[str], pattern: str) -> str | None:
    """The best available version that ``pattern`` (``1.2*``) matches, as Ansible picks it."""
    for version in available:
        if fnmatch.fnmatchcase(version, pattern):
            return version
    return None


@dataclass
class Changes:
    """What one apt-get run did (or, simulated, would do)."""

    installed: list[str] = field(default_factory=list)
    upgraded: list[str] = field(default_factory=list)
    downgraded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Anything installed, upgraded, reinstalled, downgraded or removed."""
        return any(self.counts.values()) or bool(
            self.installed or self.upgraded or self.downgraded or self.removed
        )

    def diff(self) -> dict[str, str]:
        """The packages touched, before and after (one per line), for ``--diff``."""
        before = sorted({*self.upgraded, *self.downgraded, *self.removed})
        after = sorted({*self.installed, *self.upgraded, *self.downgraded})
        return {
            "before": "".join(f"{name}\n" for name in before),
            "after": "".join(f"{name}\n" for name in after),
        }


_SECTIONS = {
    "The following NEW packages will be installed:": "installed",
    "The following packages will be upgraded:": "upgraded",
    "The following packages will be DOWNGRADED:": "downgraded",
    "The following packages will be REMOVED:": "removed",
}
_COUNT = re.compile(r"(\d+) (upgraded|newly installed|reinstalled|downgraded|to remove)\b")
_SIMULATED = re.compile(r"^(Inst|Remv|Purg) (\S+)( \[[^]]*\])?")


def parse_changes(output: str) -> Changes:
    """The packages apt-get's output lists as installed/upgraded/removed, and its summary."""
    changes = Changes()
    current: list[str] | None = None
    simulated: dict[str, set[str]] = {"Inst": set(), "Remv": set(), "Purg": set()}
    for line in output.splitlines():
        if line in _SECTIONS:
            current = getattr(changes, _SECTIONS[line])
            continue
        if current is not None and line.startswith("  "):
            current.extend(name.rstrip("*") for name in line.split())
            continue
        current = None
        if re.match(r"^\d+ upgraded, ", line):
            changes.counts = {what: int(n) for n, what in _COUNT.findall(line)}
        simulated_line = _SIMULATED.match(line)
        if simulated_line:
            simulated[simulated_line.group(1)].add(simulated_line.group(2))
    # A reinstall (or a simulated install of a local .deb) is listed by no section.
    listed = {*changes.installed, *changes.upgraded, *changes.downgraded}
    changes.installed.extend(sorted(simulated["Inst"] - listed))
    return changes


def prepared_diff(output: str) -> str:
    """Ansible's ``diff.prepared``: apt-get's plan, from after its preamble to the summary."""
    lines = output.splitlines()
    start = -1
    for marker in ("Resolving dependencies...", "Reading state information..."):
        if marker in lines:
            start = lines.index(marker)
            break
    end = next(
        (i for i, line in enumerate(lines) if re.match(r"[0-9]+ (packages )?upgraded", line)),
        len(lines),
    )
    return "\n".join(lines[start + 1 : end + 1])


_UNAVAILABLE = (
    re.compile(r"^E: Unable to locate package (\S+)", re.M),
    re.compile(r"^E: Package '([^']+)' has no installation candidate", re.M),
    re.compile(r"^E: Version '[^']*' for '([^']+)' was not found", re.M),
    re.compile(r"^E: Couldn't find any package by (?:glob|regex) '([^']+)'", re.M),
)


def unavailable_packages(stderr: str) -> list[str]:
    """The names apt-get could not find (it installs nothing when any is missing)."""
    names: list[str] = []
    for pattern in _UNAVAILABLE:
        names.extend(name for name in pattern.findall(stderr) if name not in names)
    return names

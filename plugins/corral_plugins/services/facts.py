"""The ``service_facts`` step: every service on the host, in ``ansible_facts.services``.

One round trip runs what Ansible's module runs: ``service --status-all`` (SysV init
scripts, ``source: sysv``), OpenRC's ``rc-status``/``rc-update``, and under systemd
``systemctl list-units`` and ``list-unit-files`` (``source: systemd``); units with a
unit file but no loaded unit get their ``ActiveState`` from ``systemctl show`` in the
same script. The services are keyed by name (``cron`` from its init script,
``cron.service`` from systemd): ``{name, state, status, source}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.services.host import run_script

__all__ = ["parse_service_listing", "service_facts"]


_SCRIPT = """\
PATH=/sbin:/usr/sbin:/bin:/usr/bin:/usr/local/bin:$PATH
export LC_ALL=C LANG=C
have() { command -v "$1" >/dev/null 2>&1; }
if have service && ! have chkconfig && ! have rc-status; then
  echo "@@ sysv"; service --status-all 2>/dev/null </dev/null
fi
if ! have chkconfig && have rc-status && have rc-update; then
  echo "@@ openrc-status"; rc-status -a -s -m 2>&1 | grep '^ ' | tr -d '[]'
  echo "@@ openrc-update"; rc-update show -v 2>&1 | grep '|'
fi
systemd=
if have systemctl; then
  for c in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do
    [ -e "$c" ] && systemd=1
  done
  [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && systemd=1
fi
if [ -n "$systemd" ]; then
  echo "@@ units"; systemctl list-units --no-pager --type service --all --plain
  tmp=$(mktemp)
  echo "@@ unit-files"; systemctl list-unit-files --no-pager --type service --all | tee "$tmp"
  loaded=$(systemctl list-units --no-pager --type service --all --plain | awk '{print $1}')
  for u in $(awk '/\\.service/ {print $1}' "$tmp"); do
    case " $(echo $loaded) " in *" $u "*) continue;; esac
    echo "@@ show $u"; systemctl show "$u" --property=ActiveState 2>/dev/null
  done
  rm -f "$tmp"
fi
exit 0
"""

_SYSV = re.compile(r"^\s*\[ (?P<state>\+|\-) \]\s+(?P<name>.+)$")
_BAD_STATES = ("not-found", "masked", "failed")


def service_facts(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """List the host's services into ``ansible_facts.services``."""
    result = run_script(ctx, _SCRIPT)
    if result.rc != 0:
        return StepResult(failed=True, msg=f"could not list services: {result.stderr.strip()}")
    services = parse_service_listing(result.stdout)
    if not services:
        return StepResult(
            skipped=True,
            msg="Failed to find any services. This can be due to privileges or some other "
            "configuration issue.",
        )
    # Ansible injects a module's facts under their own names too: ``services``.
    return StepResult(
        facts={"services": services},
        set_vars={"services": services},
        data={"ansible_facts": {"services": services}},
    )


def parse_service_listing(text: str) -> dict[str, dict[str, Any]]:
    """The services in the script's sectioned output, as Ansible's module reports them."""
    sections: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("@@ "):
            header = line[3:]
            current = sections.setdefault(header, [])
            if header.startswith("show "):
                shown[header[5:]] = ""
        else:
            current.append(line)
    for unit in shown:
        values = sections[f"show {unit}"]
        shown[unit] = values[0].replace("ActiveState=", "").rstrip() if values else ""
    services: dict[str, dict[str, Any]] = {}
    _sysv(sections.get("sysv", []), services)
    _openrc(sections.get("openrc-status", []), sections.get("openrc-update", []), services)
    _units(sections.get("units", []), services)
    _unit_files(sections.get("unit-files", []), shown, services)
    return services


def _sysv(lines: list[str], services: dict[str, dict[str, Any]]) -> None:
    for line in lines:
        match = _SYSV.match(line)
        if match:
            name = match.group("name")
            state = "running" if match.group("state") == "+" else "stopped"
            services[name] = {"name": name, "state": state, "source": "sysv"}


def _openrc(status: list[str], update: list[str], services: dict[str, dict[str, Any]]) -> None:
    runlevels: dict[str, list[str] | None] = {}
    for line in update:
        name, sep, levels = line.partition("|")
        if sep:
            runlevels[name.strip()] = levels.split() or None
    for line in status:
        fields = line.split()
        if len(fields) < 2 or fields[0] == "*" or fields[0] not in runlevels:
            continue
        services[fields[0]] = {
            "name": fields[0],
            "runlevels": runlevels[fields[0]],
            "state": fields[1],
            "source": "openrc",
        }


def _units(lines: list[str], services: dict[str, dict[str, Any]]) -> None:
    for line in lines:
        if ".service" not in line:
            continue
        fields = line.split()
        if len(fields) < 4:
            continue
        status = next((bad for bad in _BAD_STATES if bad in fields[:-1]), fields[2])
        state = "running" if fields[3] == "running" else "stopped"
        services[fields[0]] = {
            "name": fields[0],
            "state": state,
            "status": status,
            "source": "systemd",
        }


def _unit_files(
    lines: list[str], shown: Mapping[str, str], services: dict[str, dict[str, Any]]
) -> None:
    for line in lines:
        if ".service" not in line:
            continue
        fields = line.split()
        if len(fields) < 2:
            continue
        name, status = fields[0], fields[1]
        if name not in services:
            services[name] = {
                "name": name,
                "state": shown.get(name) or "unknown",
                "status": status,
                "source": "systemd",
            }
        elif services[name]["status"] not in _BAD_STATES:
            services[name]["status"] = status

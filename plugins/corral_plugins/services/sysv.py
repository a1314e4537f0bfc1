"""What the ``service`` step finds on a host without systemd, and SysV init's side of it.

:func:`probe` looks for the tools (``service``, ``update-rc.d``, ``chkconfig``,
``rc-service``...) and the init script in one round trip, as Ansible's ``service``
module does before it picks a way to control the service. The SysV functions run the
init script through ``service`` (or directly) and read its ``status`` as Ansible does;
they enable a service with ``update-rc.d`` (Debian) or ``chkconfig`` (Red Hat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from corral import CommandResult, StepContext
from corral_plugins.services.host import ServiceError, detached, run, run_script

__all__ = ["Tools", "ensure_enabled", "is_running", "probe", "ps_running", "sysv_control"]

_BINARIES = ("service", "chkconfig", "update-rc.d", "rc-service", "rc-update", "systemctl")

_PROBE = """\
n=$1
PATH=/sbin:/usr/sbin:/bin:/usr/bin:$PATH
for b in service chkconfig update-rc.d rc-service rc-update systemctl; do
  p=$(command -v "$b" 2>/dev/null) && echo "bin $b $p"
done
if [ -f "/etc/init.d/$n" ]; then echo "initscript /etc/init.d/$n"; fi
for c in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do
  if [ -e "$c" ]; then echo "canary $c"; fi
done
if [ -r /proc/1/comm ]; then echo "proc1 $(cat /proc/1/comm)"; fi
for f in /etc/rc?.d/S??"$n"; do [ -e "$f" ] && { echo "slink $f"; break; }; done
for f in /etc/rc?.d/K??"$n"; do [ -e "$f" ] && { echo "klink $f"; break; }; done
exit 0
"""


@dataclass
class Tools:
    """The service tools on the host, and what it has for one service."""

    name: str
    bins: dict[str, str] = field(default_factory=dict)
    initscript: str | None = None
    systemd: bool = False
    start_links: bool = False
    kill_links: bool = False

    @property
    def manager(self) -> str:
        """``systemd``, ``openrc`` or ``sysv``: how Ansible's ``service`` would control it."""
        if self.systemd:
            return "systemd"
        if "rc-service" in self.bins:
            return "openrc"
        return "sysv"


def probe(ctx: StepContext, name: str) -> Tools:
    """Find the host's service tools and ``name``'s init script and boot links."""
    result = run_script(ctx, _PROBE, name)
    if result.rc != 0:
        raise ServiceError(f"could not look for service tools: {result.stderr.strip()}")
    tools = Tools(name)
    canary, proc1 = False, ""
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "bin":
            binary, _, path = rest.partition(" ")
            tools.bins[binary] = path
        elif kind == "initscript":
            tools.initscript = rest
        elif kind == "canary":
            canary = True
        elif kind == "proc1":
            proc1 = rest.strip()
        elif kind == "slink":
            tools.start_links = True
        elif kind == "klink":
            tools.kill_links = True
    tools.systemd = "systemctl" in tools.bins and (canary or proc1 == "systemd")
    return tools


def sysv_control(tools: Tools, action: str, arguments: Sequence[str]) -> list[str]:
    """The command that runs ``action`` on the init script."""
    if "service" in tools.bins:
        return [tools.bins["service"], tools.name, action, *arguments]
    if tools.initscript:
        return [tools.initscript, action, *arguments]
    raise ServiceError(
        "cannot find 'service' binary or init script for service,  possible typo in "
        "service name?, aborting"
    )


def is_running(ctx: StepContext, tools: Tools, arguments: Sequence[str]) -> bool | None:
    """Whether the init script's ``status`` says the service runs (Ansible's reading)."""
    result = detached(ctx, sysv_control(tools, "status", arguments))
    rc, out = result.rc, result.stdout
    if rc in (1, 2, 3, 4, 69):
        return False
    if out.count("\n") <= 1:
        clean = out.lower().replace(tools.name.lower(), "")
        if "stop" in clean:
            return False
        if "run" in clean:
            return "not " not in clean
        if "start" in clean and "not " not in clean:
            return True
        dead = ("could not access pid file", "is dead and pid file exists", "dead but")
        if any(text in clean for text in dead):
            return False
    return True if rc == 0 else None


# The pattern comes on stdin, so no process's command line (this script's, sudo's)
# holds it and matches itself.
_PS = """\
IFS= read -r pat
for d in /proc/[0-9]*; do
  [ "${d#/proc/}" = "$$" ] && continue
  line=$(tr '\\000' ' ' <"$d/cmdline" 2>/dev/null) || continue
  case "$line" in *"$pat"*) echo "match ${d#/proc/}"; exit 0;; esac
done
exit 0
"""


def ps_running(ctx: StepContext, pattern: str) -> bool:
    """Whether a process's command line contains ``pattern`` (the ``pattern`` argument)."""
    result = run_script(ctx, _PS, stdin=pattern + "\n")
    if result.rc != 0:
        raise ServiceError(f"could not list processes: {result.stderr.strip()}")
    return "match " in result.stdout


def ensure_enabled(ctx: StepContext, tools: Tools, enable: bool) -> bool:
    """Link (or unlink) the init script to start at boot; whether it changed."""
    if "update-rc.d" in tools.bins:
        return _update_rc_d(ctx, tools, enable)
    if "chkconfig" in tools.bins:
        return _chkconfig(ctx, tools, enable)
    raise ServiceError(
        f"cannot detect command to enable service {tools.name}, typo or init system "
        "potentially unknown"
    )


def _update_rc_d(ctx: StepContext, tools: Tools, enable: bool) -> bool:
    if tools.start_links == enable:
        return False
    if ctx.check_mode:
        return True
    command = tools.bins["update-rc.d"]
    steps = [[command, tools.name, "enable" if enable else "disable"]]
    if enable and not tools.kill_links:
        steps.insert(0, [command, tools.name, "defaults"])
    for argv in steps:
        _check(run(ctx, argv))
    return True


def _chkconfig(ctx: StepContext, tools: Tools, enable: bool) -> bool:
    command, action = tools.bins["chkconfig"], "on" if enable else "off"
    listed = run(ctx, [command, "--list", tools.name])
    if f"chkconfig --add {tools.name}" in listed.stderr:
        run(ctx, [command, "--add", tools.name])
        listed = run(ctx, [command, "--list", tools.name])
    if tools.name not in listed.stdout:
        raise ServiceError(f"service {tools.name} does not support chkconfig")
    if f"3:{action}" in listed.stdout and f"5:{action}" in listed.stdout:
        return False
    if not ctx.check_mode:
        result = run(ctx, [command, tools.name, action])
        if result.rc != 0:
            raise ServiceError(
                f"Error when trying to {action} {tools.name}: rc={result.rc} "
                f"{(result.stderr or result.stdout).strip()}"
            )
    return True


def _check(result: CommandResult) -> None:
    if result.rc != 0:
        raise ServiceError((result.stderr or result.stdout).strip())

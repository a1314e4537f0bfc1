"""Running the service managers' commands on the host, and choosing the manager.

Every command goes through the host's connection with the task's ``become`` and
timeout, so the steps work the same over the local, SSH and docker connections.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral import CommandResult, StepContext, StepFailed
from corral_plugins.facts import SETUP_SCRIPT
from corral_plugins.facts.parse import parse_setup_output

__all__ = ["ServiceError", "detached", "run", "run_script", "service_manager"]


class ServiceError(StepFailed):
    """A failure the step reports as its ``msg`` (with extra result keys in ``data``)."""

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data = data


def run(
    ctx: StepContext,
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` on the host; a timeout is a :class:`ServiceError`."""
    result = ctx.conn.run(argv, stdin=stdin, env=env, timeout=ctx.timeout, become=ctx.become)
    if result.timed_out:
        raise ServiceError(f"{' '.join(argv[:3])} timed out after {ctx.timeout:g} seconds")
    return result


def run_script(
    ctx: StepContext, script: str, *args: str, stdin: str | None = None
) -> CommandResult:
    """Run a POSIX ``sh`` script with ``args`` as ``$1``..."""
    return run(ctx, ["/bin/sh", "-c", script, "corral-service", *args], stdin=stdin)


# A daemon started by an init script inherits the script's stdout and stderr; were they
# the connection's pipes, the command would not end until the daemon did. So the
# output goes to files (unlinked once read) and stdin is /dev/null, as Ansible's
# ``daemonize`` does it.
_DETACHED = """\
o=$(mktemp) && e=$(mktemp) || exit 125
"$@" </dev/null >"$o" 2>"$e"; rc=$?
cat "$o"; cat "$e" >&2; rm -f "$o" "$e"; exit $rc
"""


def detached(ctx: StepContext, argv: Sequence[str]) -> CommandResult:
    """Run a command that may start a daemon, without waiting for the daemon's output."""
    return run_script(ctx, _DETACHED, *argv)


def service_manager(ctx: StepContext) -> str:
    """The host's ``ansible_service_mgr`` fact, gathered (and not kept) when absent."""
    # Rendered, as Ansible's action resolves ``ansible_facts.service_mgr``: facts in the
    # host's variables are wrapped so that no template in them is ever evaluated.
    if "ansible_facts" in ctx.vars:
        found = ctx.render("{{ ansible_facts.service_mgr | default('') }}", None)
        if isinstance(found, str) and found:
            return found
    # The minimal subset, as Ansible's service action gathers it (gather_subset: "!all").
    result = run(ctx, ["/bin/sh", "-c", SETUP_SCRIPT, "setup"])
    if result.rc != 0:
        raise ServiceError(f"could not detect the service manager: {result.stderr.strip()}")
    return str(parse_setup_output(result.stdout).get("service_mgr") or "service")

"""The ``hostname`` step: Ansible's ``hostname`` module, the host's name now and at boot.

Strategies, as in Ansible: ``systemd`` (and ``debian``, which Ansible maps to it) uses
``hostnamectl``; without ``use``, a host where systemd runs gets ``systemd``, and any
other Linux host the ``file`` strategy of Ansible's Debian/Ubuntu class: ``/etc/hostname``
only (the running name is left alone, as Ansible leaves it). ``generic`` writes
``/etc/hostname`` and sets the running name with ``hostname NAME`` (Ansible has no working
``generic`` strategy on Linux; this is corral's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.hostio import read_text, run, run_ok, write_in_place

__all__ = ["hostname"]

HOSTNAME_FILE = "/etc/hostname"


class _Strategy:
    """Reads and sets the running (current) and boot (permanent) names one way."""

    def __init__(self, ctx: StepContext, kind: str) -> None:
        self.ctx, self.kind = ctx, kind

    def current(self) -> str:
        if self.kind == "systemd":
            return run_ok(self.ctx, ["hostnamectl", "--transient", "status"]).strip()
        if self.kind == "generic":
            return run_ok(self.ctx, ["hostname"]).strip()
        return self.permanent()  # the file strategy knows one name only

    def permanent(self) -> str:
        if self.kind == "systemd":
            return run_ok(self.ctx, ["hostnamectl", "--static", "status"]).strip()
        return (read_text(self.ctx, HOSTNAME_FILE) or "").strip()

    def set_current(self, name: str) -> None:
        if self.kind == "systemd":
            run_ok(self.ctx, ["hostnamectl", "--transient", "set-hostname", name])
        elif self.kind == "generic":
            run_ok(self.ctx, ["hostname", name])

    def set_permanent(self, name: str) -> None:
        if self.kind == "systemd":
            run_ok(self.ctx, ["hostnamectl", "--pretty", "--static", "set-hostname", name])
        else:
            write_in_place(self.ctx, HOSTNAME_FILE, f"{name}\n")


def _kind(ctx: StepContext, use: str | None) -> str:
    if use in ("systemd", "debian"):
        return "systemd"
    if use == "generic":
        return "generic"
    booted = ctx.conn.stat("/run/systemd/system", become=ctx.become, timeout=ctx.timeout)
    return "systemd" if booted is not None and booted.is_dir else "file"


def hostname(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set the host's name; the facts ``ansible_hostname`` and friends follow."""
    name = args["name"]
    try:
        strategy = _Strategy(ctx, _kind(ctx, args.get("use")))
        if strategy.kind == "systemd" and len(name) > 64:
            return StepResult(
                failed=True,
                msg="name cannot be longer than 64 characters on systemd servers, "
                "try a shorter name",
            )
        current, permanent = strategy.current(), strategy.permanent()
        changed = current != name or permanent != name
        if not ctx.check_mode:
            # The boot name first: NetworkManager complains about the other order.
            if permanent != name:
                strategy.set_permanent(name)
            if strategy.current() != name:
                strategy.set_current(name)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    before = current if name != current else permanent
    fqdn = run(ctx, ["hostname", "-f"]).stdout.strip() or name
    facts = {
        "hostname": name.split(".")[0],
        "nodename": name,
        "fqdn": fqdn,
        "domain": ".".join(fqdn.split(".")[1:]),
    }
    diff = None
    if changed:
        diff = {"before": f"hostname = {before}\n", "after": f"hostname = {name}\n"}
    return StepResult(changed=changed, diff=diff, facts=facts, data={"name": name})

"""The ``reboot`` step: restart the host and wait until it is back, as Ansible's ``reboot``.

The host's boot id (``boot_time_command``, by default the kernel's
``/proc/sys/kernel/random/boot_id``) is read, the reboot command is started (by default
``shutdown -r MINUTES "MSG"``, minutes being ``pre_reboot_delay // 60``), the connection is
dropped and opened again until the boot id differs and ``test_command`` succeeds, all within
``reboot_timeout`` seconds. A host that never comes back fails with "Timed out waiting for
..." once that time is up. Check mode reports a reboot without doing it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from typing import Any

from corral import CommandResult, CorralError, StepContext, StepFailed, StepResult

__all__ = ["reboot"]

_RETRY_PAUSE = 1.0


def reboot(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    if ctx.check_mode:
        return StepResult(changed=True, data={"rebooted": True, "elapsed": 0})
    started = time.monotonic()
    timeout = float(args.get("reboot_timeout", 600))
    connect = float(args.get("connect_timeout") or 30)
    boot_command = str(args.get("boot_time_command") or "cat /proc/sys/kernel/random/boot_id")
    try:
        before = _boot_id(ctx, boot_command, connect)
        _start_reboot(ctx, args)
        time.sleep(float(args.get("post_reboot_delay", 0)))
        _wait(ctx, args, before, boot_command, started + timeout, connect)
    except StepFailed as exc:
        data = {"rebooted": exc.message.startswith("Timed out"), "elapsed": _since(started)}
        return StepResult(failed=True, msg=exc.message, data=data)
    return StepResult(changed=True, data={"rebooted": True, "elapsed": _since(started)})


def _since(started: float) -> int:
    return int(time.monotonic() - started)


def _run(ctx: StepContext, command: str, timeout: float) -> CommandResult:
    return ctx.conn.run(command, become=ctx.become, timeout=timeout)


def _boot_id(ctx: StepContext, command: str, timeout: float) -> str:
    result = _run(ctx, command, timeout)
    if result.rc != 0 or not result.stdout.strip():
        detail = (result.stderr or result.stdout).strip() or f"rc={result.rc}"
        raise StepFailed(f"boot_time_command: Failed to get last boot time: {detail}")
    return result.stdout.strip()


def _start_reboot(ctx: StepContext, args: Mapping[str, Any]) -> None:
    command = args.get("reboot_command")
    if not command:
        minutes = int(args.get("pre_reboot_delay", 0)) // 60
        message = str(args.get("msg") or "Reboot initiated by Ansible")
        command = f"shutdown -r {minutes} {shlex.quote(message)}"
    try:
        result = _run(ctx, str(command), 30)
    except CorralError:
        return  # the host went down under the command: that is the reboot
    if result.rc != 0 and not result.timed_out:
        detail = (result.stderr or result.stdout).strip() or f"rc={result.rc}"
        raise StepFailed(f"Reboot command failed. Error was: {detail}")


def _wait(
    ctx: StepContext,
    args: Mapping[str, Any],
    before: str,
    boot_command: str,
    deadline: float,
    connect: float,
) -> None:
    """Reconnect until the boot id changed and the test command passes, or time is up."""
    test = str(args.get("test_command") or "whoami")
    what = "last boot time check"
    ctx.conn.close()
    while True:
        try:
            if what == "last boot time check":
                current = _run(ctx, boot_command, connect)
                if current.rc == 0 and current.stdout.strip() not in ("", before):
                    what = "post-reboot test command"
            if what == "post-reboot test command" and _run(ctx, test, connect).rc == 0:
                return
        except CorralError:
            ctx.conn.close()
        if time.monotonic() + _RETRY_PAUSE > deadline:
            timeout = args.get("reboot_timeout", 600)
            raise StepFailed(f"Timed out waiting for {what} (timeout={timeout})")
        time.sleep(_RETRY_PAUSE)

"""Mode, owner and group on the host, and making directories: what several steps share.

``file``, ``copy`` and ``template`` use these, and so do the ssh plugin's ``fetch`` and the
``http`` step's downloads. Commands are argv lists run through the connection.
"""

from __future__ import annotations

import stat as stat_mod
from collections.abc import Mapping
from typing import Any

from corral import MAKE_DIRS, FileStat, StepContext, StepFailed
from corral_plugins.files.schemas import GROUP_PROPERTY, MODE_PROPERTY, OWNER_PROPERTY

__all__ = [
    "GROUP_PROPERTY",
    "MODE_PROPERTY",
    "OWNER_PROPERTY",
    "apply_attributes",
    "ensure_attributes",
    "format_mode",
    "make_dirs",
    "parse_mode",
    "run_or_fail",
]


def parse_mode(value: str | int | None) -> int | None:
    """``'0644'`` or ``'644'`` (octal strings) or an int, as the schema allows, to an int."""
    if value is None:
        return None
    return int(value, 8) if isinstance(value, str) else int(value)


def format_mode(mode: int) -> str:
    """Ansible's mode string: the permission bits as four octal digits."""
    return f"{stat_mod.S_IMODE(mode):04o}"


def apply_attributes(
    ctx: StepContext,
    path: str,
    current: FileStat,
    *,
    mode: int | None = None,
    owner: str | None = None,
    group: str | None = None,
) -> list[str]:
    """Set what differs of mode, owner and group; return what changed (planned, in check mode).

    A symlink's own owner and group are changed (``-h``); its mode is left alone.
    """
    commands: list[tuple[str, list[str]]] = []
    link_flag = ["-h"] if current.is_link else []
    if mode is not None and not current.is_link and stat_mod.S_IMODE(current.mode) != mode:
        text = f"mode {format_mode(current.mode)} -> {mode:04o}"
        commands.append((text, ["chmod", f"{mode:04o}", "--", path]))
    if owner is not None and owner not in (current.owner, str(current.uid)):
        commands.append(
            (f"owner {current.owner} -> {owner}", ["chown", *link_flag, owner, "--", path])
        )
    if group is not None and group not in (current.group, str(current.gid)):
        commands.append(
            (f"group {current.group} -> {group}", ["chgrp", *link_flag, group, "--", path])
        )
    if not ctx.check_mode:
        for _, argv in commands:
            run_or_fail(ctx, argv)
    return [text for text, _ in commands]


def make_dirs(ctx: StepContext, path: str) -> None:
    """``mkdir -p`` on the host: with the connection's ``make_dirs`` when it declares one.

    ``make_dirs`` is an optional connection feature (the ``MAKE_DIRS`` capability); the
    ssh connection creates directories over SFTP, without starting a process on the host.
    """
    if MAKE_DIRS in ctx.conn.capabilities:
        ctx.conn.make_dirs(path, become=ctx.become, timeout=ctx.timeout)
    else:
        run_or_fail(ctx, ["mkdir", "-p", "--", path])


def run_or_fail(ctx: StepContext, argv: list[str]) -> None:
    """Run ``argv`` on the host as the task's become user; raise StepFailed unless it succeeds."""
    result = ctx.conn.run(argv, timeout=ctx.timeout, become=ctx.become)
    if result.timed_out or result.rc != 0:
        reason = "timed out" if result.timed_out else result.stderr.strip() or f"rc={result.rc}"
        raise StepFailed(f"{argv[0]} failed: {reason}")


def ensure_attributes(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None = None
) -> list[str]:
    """Apply a step's ``mode``/``owner``/``group`` arguments to ``path``; what changed.

    Stats the path first when ``current`` is not given; nothing when the path does not
    exist (in check mode, a file not created yet).
    """
    if not any(args.get(key) is not None for key in ("mode", "owner", "group")):
        return []
    if current is None:
        current = ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout)
        if current is None:
            return []
    return apply_attributes(
        ctx,
        path,
        current,
        mode=parse_mode(args.get("mode")),
        owner=args.get("owner"),
        group=args.get("group"),
    )

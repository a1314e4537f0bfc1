"""Reading and writing small text files and running commands on the host, for the system steps.

Everything goes through the task's connection (local, ssh or docker) as the task's
become user; nothing touches the controller's own files unless the connection is local.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from corral import CommandResult, StepContext, StepFailed

__all__ = ["read_text", "run", "run_ok", "write_in_place", "write_text"]


def run(
    ctx: StepContext,
    argv: Sequence[str] | str,
    *,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` on the host with the task's timeout and become user."""
    merged = {"LC_ALL": "C", **(env or {})}
    return ctx.conn.run(argv, stdin=stdin, env=merged, timeout=ctx.timeout, become=ctx.become)


def run_ok(
    ctx: StepContext,
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    failure: str | None = None,
) -> str:
    """Run ``argv``; its output, or StepFailed saying what failed (``failure``, else
    "<command> failed") and what the command said."""
    result = run(ctx, argv, stdin=stdin)
    if result.rc != 0 or result.timed_out:
        reason = "timed out" if result.timed_out else result.stderr.strip() or f"rc={result.rc}"
        raise StepFailed(f"{failure or argv[0] + ' failed'}: {reason}")
    return result.stdout


def read_text(ctx: StepContext, path: str) -> str | None:
    """The text of ``path`` on the host, or None when it does not exist."""
    found = ctx.read_file(path)
    if found.stat is None:
        return None
    return found.data.decode("utf-8", errors="replace")


def write_text(ctx: StepContext, path: str, text: str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` atomically (an existing file keeps its mode)."""
    if mode is None:
        current = ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout)
        mode = (current.mode & 0o7777) if current is not None else 0o644
    ctx.conn.put(text.encode(), path, mode=mode, become=ctx.become, timeout=ctx.timeout)


def write_in_place(ctx: StepContext, path: str, text: str) -> None:
    """Overwrite ``path``'s content without replacing the file.

    For files a container runtime bind-mounts (``/etc/hostname``): renaming a new file
    over a mount point fails, writing into it works.
    """
    run_ok(ctx, ["sh", "-c", 'cat > "$1"', "sh", path], stdin=text)

"""What every package step shares: running the manager on the host, merging aliases, failing.

Package managers are run with an English, non-interactive environment
(``LC_ALL=C``, ``DEBIAN_FRONTEND=noninteractive``) so that their output can be parsed
and they never wait for an answer; the task's ``environment`` comes on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral import CommandResult, StepContext, StepFailed

__all__ = [
    "QUIET_ENV",
    "download",
    "first_of",
    "host_run",
    "names_of",
    "run_or_raise",
]

QUIET_ENV: Mapping[str, str] = {
    "LC_ALL": "C",
    "LANG": "C",
    "DEBIAN_FRONTEND": "noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN": "true",
    "APT_LISTCHANGES_FRONTEND": "none",
}


def host_run(
    ctx: StepContext, argv: Sequence[str] | str, *, stdin: bytes | str | None = None
) -> CommandResult:
    """Run ``argv`` on the host as the task's become user, in the quiet environment."""
    env = {**QUIET_ENV, **ctx.env}
    return ctx.conn.run(argv, stdin=stdin, env=env, timeout=ctx.timeout, become=ctx.become)


def run_or_raise(ctx: StepContext, argv: Sequence[str], what: str | None = None) -> CommandResult:
    """:func:`host_run`, raising StepFailed (with the command's error) unless it succeeds."""
    result = host_run(ctx, argv)
    if result.timed_out or result.rc != 0:
        reason = "timed out" if result.timed_out else _last_lines(result) or f"rc={result.rc}"
        raise StepFailed(f"{what or ' '.join(argv)} failed: {reason}")
    return result


def _last_lines(result: CommandResult) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return "; ".join(lines[-3:])


def download(url: str, what: str) -> bytes:
    """Fetch ``url`` from the controller (the host may have no route or no client for it)."""
    import httpx

    try:
        response = httpx.get(url, follow_redirects=True, timeout=60)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise StepFailed(f"{what}: cannot download {url}: {exc}") from exc
    return response.content


def first_of(args: Mapping[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` (an argument and its aliases) that is given."""
    for name in names:
        if args.get(name) is not None:
            return args[name]
    return None


def names_of(value: Any) -> list[str]:
    """A package list as given (a list, or a comma-separated string), stripped, empty ones out."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(item) for item in value]
    return [item.strip() for item in items if item.strip()]

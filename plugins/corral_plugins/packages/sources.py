"""apt's source files on the host, read and written for the repository steps."""

from __future__ import annotations

from corral import StepContext, StepFailed
from corral_plugins.packages.common import host_run, run_or_raise

__all__ = ["SOURCES_DIR", "read_files", "remove_file", "write_file"]

SOURCES_DIR = "/etc/apt/sources.list.d"
_SEP = "\x1e"
_READ = (
    'for f in "$@"; do [ -f "$f" ] || continue; '
    "printf '\\036%s\\n' \"$f\"; cat -- \"$f\"; printf '\\n'; done"
)


def read_files(ctx: StepContext, patterns: list[str]) -> dict[str, str]:
    """The text of the files the shell ``patterns`` name (``/etc/apt/sources.list.d/*.list``)."""
    script = f"set -- {' '.join(patterns)}; {_READ}"
    result = run_or_raise(ctx, ["/bin/sh", "-c", script], "reading apt's source files")
    files: dict[str, str] = {}
    for chunk in result.stdout.split(_SEP)[1:]:
        name, _, text = chunk.partition("\n")
        files[name] = text[:-1] if text.endswith("\n") else text
    return files


def write_file(ctx: StepContext, path: str, text: str | bytes, mode: int | None) -> None:
    """Write ``text`` to ``path`` atomically; ``mode`` None keeps an existing file's mode."""
    host_run(ctx, ["mkdir", "-p", "--", path.rsplit("/", 1)[0] or "/"])
    payload = text.encode() if isinstance(text, str) else text
    ctx.conn.put(payload, path, mode=mode, become=ctx.become, timeout=ctx.timeout)
    if mode is not None:
        run_or_raise(ctx, ["chmod", f"{mode:o}", "--", path])


def remove_file(ctx: StepContext, path: str) -> None:
    """Delete ``path`` (gone already is fine)."""
    result = host_run(ctx, ["rm", "-f", "--", path])
    if result.rc != 0:
        raise StepFailed(f"cannot remove {path}: {result.stderr.strip()}")

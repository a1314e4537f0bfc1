"""The ``sysctl`` step: ``ansible.posix.sysctl``, a kernel parameter in a file and live.

The file (default ``/etc/sysctl.conf``) is edited as Ansible edits it: every ``key=value``
line is rewritten without spaces around ``=``, a repeated key keeps its first line, and
the wanted key is changed in place or appended. The live value is read with
``sysctl -e -n KEY``; ``sysctl_set`` sets it with ``sysctl -w``, and ``reload`` (the
default) loads the file with ``sysctl -p FILE`` after a change. Values compare as Ansible
compares them: the same words, whatever the whitespace (``4096 87380 6291456``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.hostio import run, run_ok, write_text

__all__ = ["sysctl"]

_TRUE = {"yes", "on", "1", "true", "y", "t"}
_FALSE = {"no", "off", "0", "false", "n", "f"}
# sysctl may exit 0 although it could not set a key; these lines on stderr mean it failed.
_SET_FAILED = re.compile(
    r'^sysctl: (setting key "[^"]+"|cannot stat [^:]+): '
    r"(Invalid argument|Read-only file system|No such file or directory)$",
    re.MULTILINE,
)


def parse_value(value: Any) -> str:
    """The value as sysctl shows it: booleans as ``1``/``0``, strings stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if text.lower() in _TRUE:
        return "1"
    if text.lower() in _FALSE:
        return "0"
    return text.strip()


def same_value(a: str | None, b: str) -> bool:
    return a is not None and a.split() == b.split()


def _settings(lines: list[str]) -> dict[str, str]:
    """``key: value`` of every setting line (the last one wins, as sysctl applies them)."""
    values: dict[str, str] = {}
    for line in lines:
        text = line.strip()
        if text and not text.startswith(("#", ";")) and "=" in text:
            key, value = text.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def fixed_lines(lines: list[str], name: str, value: str | None) -> list[str]:
    """The file's lines with ``name`` set to ``value`` (removed for None), as Ansible writes it."""
    seen: set[str] = set()
    out: list[str] = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith(("#", ";")) or "=" not in text:
            out.append(line)
            continue
        key, old = (part.strip() for part in text.split("=", 1))
        if key in seen:
            continue
        seen.add(key)
        if key != name:
            out.append(f"{key}={old}\n")
        elif value is not None:
            out.append(f"{key}={value}\n")
    if name not in seen and value is not None:
        out.append(f"{name}={value}\n")
    return out


def sysctl(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set (or remove) one kernel parameter in a sysctl file and, if asked, live."""
    name = str(args.get("name") or args.get("key") or "").strip()
    raw = args.get("value", args.get("val"))
    present = args.get("state", "present") == "present"
    if present and raw is None:
        return StepResult(failed=True, msg="value is required with state=present")
    value = parse_value(raw)
    try:
        return _sysctl(ctx, args, name, value, present)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)


def _sysctl(
    ctx: StepContext, args: Mapping[str, Any], name: str, value: str, present: bool
) -> StepResult:
    path = args.get("sysctl_file") or "/etc/sysctl.conf"
    errors = ["-e"] if args.get("ignoreerrors") else []
    live_value, before = _read_state(ctx, name, path)
    lines = (before or "").splitlines(keepends=True)
    in_file = _settings(lines).get(name)
    after = "".join(fixed_lines(lines, name, value if present else None))
    write_file = (in_file is None and present) or (in_file is not None and not present)
    write_file = write_file or (present and in_file is not None and in_file != value)
    changed = write_file
    if not changed and present and args.get("reload", True):
        changed = not same_value(live_value, value)  # the file is right but not applied
    set_live = bool(args.get("sysctl_set")) and present and not same_value(live_value, value)
    changed = changed or set_live
    diff = None
    if ctx.diff and write_file:
        diff = {"before": before or "", "after": after, "before_header": path}
        diff["after_header"] = path
    if changed and not ctx.check_mode:
        if set_live:
            _sysctl_command(ctx, ["sysctl", *errors, "-w", f"{name}={value}"], "set")
        if write_file:
            write_text(ctx, path, after)
        if args.get("reload", True):
            _sysctl_command(ctx, ["sysctl", *errors, "-p", path], "reload")
    return StepResult(changed=changed, diff=diff)


# The live value, a NUL, then (when the file exists) a "Y", a NUL and the file: one
# command per task, where a sysctl call and a file read would take two round trips.
_READ_STATE = """sysctl -e -n "$1"
printf '\\0'
if [ -e "$2" ]; then printf 'Y\\0'; exec cat -- "$2"; fi
"""


def _read_state(ctx: StepContext, name: str, path: str) -> tuple[str | None, str | None]:
    """The parameter's live value (None when the kernel has no such key) and the file's text."""
    argv = ["/bin/sh", "-c", _READ_STATE, "sysctl", name, path]
    live, _, rest = run_ok(ctx, argv, failure=f"cannot read {path}").partition("\0")
    found, _, text = rest.partition("\0")
    return live.strip() or None, text if found == "Y" else None


def _sysctl_command(ctx: StepContext, argv: list[str], what: str) -> None:
    result = run(ctx, argv)
    if result.rc != 0 or result.timed_out or _SET_FAILED.search(result.stderr):
        detail = (result.stdout + result.stderr).strip() or f"rc={result.rc}"
        raise StepFailed(f"Failed to {what} sysctl: {detail}")

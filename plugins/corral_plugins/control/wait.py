"""The ``wait_for`` step: poll the host until a port opens or closes, or a file appears.

Every check runs on the host through its connection (``stat``/``get`` for paths,
a tiny probe run with ``bash``'s ``/dev/tcp`` or ``python3`` for ports), so
``host: 127.0.0.1`` means the target's own loopback, as in Ansible. Each probe has
its own timeout, the whole wait has ``timeout``, and a cancelled run stops it.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral import RegisterStep, StepContext, StepFailed, StepResult, StepType

__all__ = ["WAIT_FOR_SCHEMA", "wait_for"]

WAIT_FOR_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "not": {"required": ["port", "path"]},
    "properties": {
        "host": {
            "type": "string",
            "default": "127.0.0.1",
            "description": "The address to connect to, as seen from the target host.",
        },
        "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "The TCP port to wait for.",
        },
        "path": {
            "type": "string",
            "description": "A file on the host to wait for (or, with `state: absent`, "
            "to disappear).",
        },
        "search_regex": {
            "type": "string",
            "description": "A Python regular expression that must match the file's "
            "content, or what the port sends after connecting.",
        },
        "state": {
            "enum": ["started", "present", "stopped", "absent"],
            "default": "started",
            "description": "`started`/`present`: wait until the port accepts connections "
            "or the file exists; `stopped`/`absent`: wait until they are gone.",
        },
        "timeout": {
            "type": "number",
            "minimum": 0,
            "default": 300,
            "description": "Seconds to wait in all before failing.",
        },
        "delay": {
            "type": "number",
            "minimum": 0,
            "default": 0,
            "description": "Seconds to wait before the first check.",
        },
        "sleep": {
            "type": "number",
            "minimum": 0,
            "default": 1,
            "description": "Seconds between checks.",
        },
        "connect_timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 5,
            "description": "Seconds one connection attempt (and reading for "
            "`search_regex`) may take.",
        },
        "msg": {
            "type": "string",
            "description": "The failure message to use instead of the default one.",
        },
    },
}

# Connects to "$1":"$2" within "$3" seconds; with a regex in "$4", prints what the
# port sends (until the regex matches, the peer closes, or the time is up).
# Exit 0 when connected, non-zero when not, 97 when the host has no tool for it.
_PORT_PROBE = """
if [ -z "$4" ] && command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  exec timeout "$3" bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe "$1" "$2" 2>/dev/null
fi
for py in python3 python; do
  if command -v "$py" >/dev/null 2>&1; then
    exec "$py" -c '
import re, socket, sys, time
host, port, limit, pattern = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
try:
    sock = socket.create_connection((host, port), limit)
except OSError:
    sys.exit(1)
data = b""
if pattern:
    regex, end = re.compile(pattern.encode()), time.monotonic() + limit
    try:
        while not regex.search(data):
            sock.settimeout(max(0.01, end - time.monotonic()))
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
sock.close()
sys.stdout.buffer.write(data)
' "$@"
  fi
done
if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  exec timeout "$3" bash -c 'exec 3<>"/dev/tcp/$1/$2" && exec cat <&3' probe "$1" "$2" 2>/dev/null
fi
exit 97
"""
_NO_PROBE_TOOL = 97


def wait_for(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Wait until a port or path on the host reaches ``state``, or fail at ``timeout``."""
    if args.get("state") == "stopped" and "path" in args:
        return StepResult(failed=True, msg="state=stopped only applies to a port; use absent")
    try:
        regex = re.compile(args["search_regex"].encode()) if "search_regex" in args else None
    except re.error as exc:
        return StepResult(failed=True, msg=f"Invalid regular expression: {exc}")
    start = time.monotonic()
    if ctx.cancelled.wait(args.get("delay", 0)):
        return _cancelled()
    if "port" not in args and "path" not in args:
        # Nothing to watch: a plain sleep, as in Ansible.
        if ctx.cancelled.wait(args.get("timeout", 300)):
            return _cancelled()
        return _done(args, start, None)
    return _poll(ctx, args, regex, start)


def _poll(
    ctx: StepContext, args: Mapping[str, Any], regex: re.Pattern[bytes] | None, start: float
) -> StepResult:
    """Check, sleep, check again, until the condition holds or the deadline passes."""
    deadline = start + args.get("timeout", 300)
    while True:
        match = _check(ctx, args, regex, deadline)
        if match is not None:
            return _done(args, start, match)
        now = time.monotonic()
        if now >= deadline:
            return StepResult(
                failed=True,
                msg=args.get("msg") or _timeout_message(args),
                data={"elapsed": int(now - start)},
            )
        if ctx.cancelled.wait(min(args.get("sleep", 1), deadline - now)):
            return _cancelled()


def _cancelled() -> StepResult:
    return StepResult(failed=True, msg="wait_for cancelled")


def _check(
    ctx: StepContext, args: Mapping[str, Any], regex: re.Pattern[bytes] | None, deadline: float
) -> re.Match[bytes] | bool | None:
    """One check: a match (or True) when the wait is over, None to keep waiting."""
    gone = args.get("state", "started") in ("stopped", "absent")
    if "path" in args:
        exists = (
            ctx.conn.stat(args["path"], become=ctx.become, timeout=_probe_limit(args)) is not None
        )
        if gone:
            return None if exists else True
        if not exists:
            return None
        return True if regex is None else regex.search(_read_file(ctx, args))
    limit = max(0.1, min(args.get("connect_timeout", 5), deadline - time.monotonic()))
    connected, received = _probe_port(ctx, args, regex, limit)
    if gone:
        return None if connected else True
    if not connected:
        return None
    return True if regex is None else regex.search(received)


def _probe_port(
    ctx: StepContext, args: Mapping[str, Any], regex: re.Pattern[bytes] | None, limit: float
) -> tuple[bool, bytes]:
    host, port = args.get("host", "127.0.0.1"), str(args["port"])
    pattern = regex.pattern.decode() if regex is not None else ""
    result = ctx.conn.run(
        ["/bin/sh", "-c", _PORT_PROBE, "probe", host, port, str(math.ceil(limit)), pattern],
        timeout=limit + 10,
        become=ctx.become,
    )
    if result.rc == _NO_PROBE_TOOL:
        raise StepFailed(
            f"wait_for cannot probe ports on {ctx.host}: it has neither bash nor python",
            hint="install bash (with timeout from coreutils or busybox) or python3 there",
        )
    if regex is not None:
        # Reading mode: connected when anything came back or the reader exited cleanly.
        received = result.stdout.encode("utf-8", errors="surrogateescape")
        return result.rc == 0 or bool(received), received
    return result.rc == 0, b""


def _read_file(ctx: StepContext, args: Mapping[str, Any]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="corral-wait-") as scratch:
        local = Path(scratch) / "content"
        try:
            ctx.conn.get(args["path"], local, become=ctx.become, timeout=_probe_limit(args))
        except StepFailed:
            return b""  # unreadable for now (being rotated, not yet permitted): keep waiting
        return local.read_bytes()


def _probe_limit(args: Mapping[str, Any]) -> float:
    return float(args.get("connect_timeout", 5)) + 10


def _timeout_message(args: Mapping[str, Any]) -> str:
    """Ansible's messages, so that wrappers matching on them keep working."""
    state = args.get("state", "started")
    target = f"{args.get('host', '127.0.0.1')}:{args['port']}" if "port" in args else None
    if state in ("stopped", "absent"):
        if target:
            return f"Timeout when waiting for {target} to stop."
        return f"Timeout when waiting for {args['path']} to be absent."
    if "search_regex" in args:
        where = target or args["path"]
        return f"Timeout when waiting for search string {args['search_regex']} in {where}"
    if target:
        return f"Timeout when waiting for {target}"
    return f"Timeout when waiting for file {args['path']}"


def _done(
    args: Mapping[str, Any], start: float, match: re.Match[bytes] | bool | None
) -> StepResult:
    data: dict[str, Any] = {
        "elapsed": int(time.monotonic() - start),
        "state": args.get("state", "started"),
        "port": args.get("port"),
        "path": args.get("path"),
        "search_regex": args.get("search_regex"),
        "match_groups": [],
        "match_groupdict": {},
    }
    if isinstance(match, re.Match):
        data["match_groups"] = [_text(group) for group in match.groups()]
        data["match_groupdict"] = {key: _text(value) for key, value in match.groupdict().items()}
    return StepResult(data=data)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="replace")


def register_steps(register: RegisterStep) -> None:
    """Register ``wait_for``."""
    register(
        StepType(
            name="wait_for",
            run=wait_for,
            schema=WAIT_FOR_SCHEMA,
            aliases=("ansible.builtin.wait_for", "ansible.legacy.wait_for"),
            check_mode=True,
            description="Wait until a port on the host opens or closes, or a file appears.",
        )
    )

"""The ``haproxy`` step: HAProxy's runtime API over its stats socket, on the load balancer.

HAProxy answers one command per connection on a non-interactive socket. The host may
have no ``socat``, so the commands go through a few lines of ``python3`` (which every host
corral manages has) reading them from stdin; nothing is copied to the host. Reading the
state is a pure parser of ``show servers state`` and ``show stat`` (tested on captured text).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from typing import Any

from corral import StepContext, StepResult

__all__ = ["admin_state", "haproxy", "parse_connections", "parse_servers_state"]

# One command per line on stdin, one connection each; answers separated by a record
# separator. Exit 2 with the error when the socket cannot be reached.
CLIENT = r"""
import socket, sys
for line in sys.stdin.read().splitlines():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(sys.argv[1])
    except OSError as exc:
        sys.stderr.write(str(exc))
        sys.exit(2)
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        out += data
    s.close()
    sys.stdout.write(out.decode(errors="replace") + "\x1e")
"""
# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited, resolver and hostname
# maintenance; forced and inherited drain. Not 0x04 (CMAINT): it only remembers that the
# configuration said `disabled`, and stays set once the server is ready.
MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40
DRAIN_BITS = 0x08 | 0x10
POLL_INTERVAL = 0.5


def admin_state(bits: int) -> str:
    """``maint``, ``drain`` or ``ready`` for a server's ``srv_admin_state``."""
    if bits & MAINT_BITS:
        return "maint"
    return "drain" if bits & DRAIN_BITS else "ready"


def parse_servers_state(text: str) -> dict[str, dict[str, Any]]:
    """The servers of ``show servers state BACKEND``: name -> state, up, address."""
    lines = text.splitlines()
    header = next((line[1:].split() for line in lines if line.startswith("#")), [])
    servers: dict[str, dict[str, Any]] = {}
    for line in lines:
        fields = line.split()
        if line.startswith("#") or len(fields) < len(header) or len(fields) < 7:
            continue
        row = dict(zip(header, fields, strict=False))
        servers[row["srv_name"]] = {
            "state": admin_state(int(row["srv_admin_state"])),
            "up": row["srv_op_state"] == "2",
            "address": f"{row['srv_addr']}:{row.get('srv_port', '')}",
        }
    return servers


def parse_connections(text: str, backend: str) -> dict[str, int]:
    """Each server's current sessions (``scur``) in ``backend``, from ``show stat``."""
    rows = csv.DictReader(text.lstrip("# ").splitlines())
    return {
        row["svname"]: int(row["scur"] or 0)
        for row in rows
        if row.get("pxname") == backend and row.get("svname") not in ("FRONTEND", "BACKEND")
    }


def _ask(ctx: StepContext, socket: str, commands: Sequence[str]) -> list[str] | str:
    """HAProxy's answers to ``commands``, or an error message."""
    result = ctx.conn.run(
        ["python3", "-c", CLIENT, socket],
        stdin="".join(f"{c}\n" for c in commands),
        timeout=ctx.timeout or 30,
        become=ctx.become,
    )
    if result.timed_out or result.rc != 0:
        why = "timed out" if result.timed_out else (result.stderr.strip() or f"rc={result.rc}")
        return (
            f"cannot use HAProxy's runtime API at {socket}: {why} (is `stats socket {socket} "
            "level admin` in haproxy.cfg, and does the task run on the load balancer with "
            "become?)"
        )
    return result.stdout.split("\x1e")[: len(commands)]


def _servers(ctx: StepContext, socket: str, backend: str) -> dict[str, dict[str, Any]] | str:
    answers = _ask(ctx, socket, [f"show servers state {backend}"])
    if isinstance(answers, str):
        return answers
    if not answers[0].lstrip().startswith("1"):
        return f"HAProxy: {answers[0].strip() or 'no answer'} (backend {backend!r})"
    return parse_servers_state(answers[0])


def _wait_drained(ctx: StepContext, args: Mapping[str, Any], names: Sequence[str]) -> str:
    """Wait for the servers' sessions to end; an error message, or '' once they have."""
    deadline = time.monotonic() + float(args.get("wait_drained", 0))
    backend, socket = args["backend"], args.get("socket", "/run/haproxy/admin.sock")
    while True:
        answers = _ask(ctx, socket, ["show stat"])
        if isinstance(answers, str):
            return answers
        busy = {n: c for n, c in parse_connections(answers[0], backend).items() if c and n in names}
        if not busy:
            return ""
        if time.monotonic() > deadline or ctx.cancelled.is_set():
            return f"connections still open after {args['wait_drained']}s: {busy}"
        time.sleep(POLL_INTERVAL)


def _check(names: Sequence[str], state: object, servers: Mapping[str, Any], backend: str) -> str:
    """What is wrong with the arguments, given the backend's servers; '' when nothing."""
    if bool(names) != bool(state):
        return "give both `servers` and `state`, or neither"
    unknown = [n for n in names if n not in servers]
    if unknown:
        known = ", ".join(sorted(servers)) or "none"
        return f"backend {backend} has no server {', '.join(unknown)} (it has {known})"
    return ""


def _set(
    ctx: StepContext, socket: str, backend: str, names: Sequence[str], state: str
) -> dict[str, dict[str, Any]] | str:
    """Set the servers' state; the backend's servers afterwards, or an error message."""
    answers = _ask(ctx, socket, [f"set server {backend}/{n} state {state}" for n in names])
    if isinstance(answers, str):
        return answers
    refused = [a.strip() for a in answers if a.strip()]
    if refused:
        return f"HAProxy refused: {'; '.join(refused)}"
    return _servers(ctx, socket, backend)


def haproxy(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set ``servers`` of ``backend`` to ``state``; report the backend's servers."""
    backend, socket = str(args["backend"]), str(args.get("socket", "/run/haproxy/admin.sock"))
    names, state = [str(s) for s in args.get("servers", [])], args.get("state")
    servers = _servers(ctx, socket, backend)
    error = servers if isinstance(servers, str) else _check(names, state, servers, backend)
    if error or isinstance(servers, str):
        return StepResult(failed=True, msg=str(error))
    to_change = [n for n in names if servers[n]["state"] != state]
    if to_change and not ctx.check_mode:
        servers = _set(ctx, socket, backend, to_change, str(state))
        if isinstance(servers, str):
            return StepResult(failed=True, msg=servers)
    if state in ("drain", "maint") and args.get("wait_drained") and not ctx.check_mode:
        error = _wait_drained(ctx, args, names)
        if error:
            return StepResult(failed=True, msg=error, data={"servers": servers})
    done = f"{', '.join(to_change)} set to {state}" if to_change else "nothing to change"
    return StepResult(changed=bool(to_change), msg=done, data={"servers": servers})

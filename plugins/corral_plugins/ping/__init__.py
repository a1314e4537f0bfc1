"""``corral ping [PATTERN]``: the fleet's reachability at a glance; and the ``ping`` step.

Every host the pattern selects is connected to in parallel, through the connection its
inventory gives it (``ssh`` unless ``ansible_connection`` says otherwise), and runs
``true`` once. The table shows each host's status, the time to connect and log in, the
latency of one command on the open connection, and the SSH server's version string.
Exit code 0 when every host answered, 2 when one failed to run ``true``, 3 when one was
unreachable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from corral import CorralError, HostUnreachable, RegisterStep, StepType, hookimpl
from corral.commands.options import inventory_options
from corral.errors import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE
from corral_plugins.ping.step import PING_SCHEMA, ping

__all__ = ["PingResult", "ping_command", "ping_host", "ping_hosts", "render_table"]

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class PingResult:
    """What pinging one host found."""

    host: str
    status: str  # "ok", "unreachable" or "failed"
    connect_ms: float | None = None
    latency_ms: float | None = None
    server: str = ""
    message: str = ""


def ping_host(
    registry: Any, host: str, variables: Mapping[str, Any], timeout: float | None
) -> PingResult:
    """Connect to ``host`` as a run would, run ``true`` once, and close."""
    kind = str(variables.get("ansible_connection") or "ssh")
    connection_type = registry.connections.get(kind)
    if connection_type is None:
        return PingResult(
            host, "unreachable", message=f"no connection plugin {kind!r} is installed"
        )
    if timeout is not None:
        variables = {**variables, "corral_ssh_connect_timeout": timeout}
    started = time.perf_counter()
    try:
        conn = connection_type.connect(host, variables)
        conn.open()
    except CorralError as exc:  # HostUnreachable, or settings it cannot use
        return PingResult(host, "unreachable", message=exc.message)
    connected = time.perf_counter()
    server = str(getattr(conn, "server_version", "") or f"({kind})")
    try:
        result = conn.run(["true"], timeout=timeout or DEFAULT_TIMEOUT)
    except HostUnreachable as exc:
        return PingResult(host, "unreachable", message=exc.message)
    except CorralError as exc:
        return PingResult(host, "failed", message=exc.message)
    finally:
        conn.close()
    finished = time.perf_counter()
    connect_ms, latency_ms = (connected - started) * 1000, (finished - connected) * 1000
    status, message = "ok", ""
    if result.timed_out or result.rc != 0:
        lines = result.stderr.strip().splitlines() or [f"rc={result.rc}"]
        status, message = (
            "failed",
            "true failed: " + ("timed out" if result.timed_out else lines[0]),
        )
    return PingResult(host, status, connect_ms, latency_ms, server, message)


def ping_hosts(
    registry: Any, inventory: Any, hosts: Sequence[str], *, forks: int, timeout: float | None
) -> list[PingResult]:
    """Ping ``hosts`` in parallel (``forks`` at a time), in inventory order."""
    if not hosts:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(forks, len(hosts))), thread_name_prefix="corral-ping"
    ) as pool:
        futures = [
            pool.submit(ping_host, registry, h, inventory.host_vars(h), timeout) for h in hosts
        ]
        return [future.result() for future in futures]


def render_table(results: Sequence[PingResult], seconds: float) -> str:
    """The table ``corral ping`` prints, with a summary line."""
    rows = [("HOST", "STATUS", "CONNECT", "LATENCY", "SERVER / REASON")]
    for r in results:
        connect = f"{r.connect_ms:.0f} ms" if r.connect_ms is not None else "-"
        latency = f"{r.latency_ms:.1f} ms" if r.latency_ms is not None else "-"
        detail = r.message if r.status != "ok" else r.server.removeprefix("SSH-2.0-")
        rows.append((r.host, r.status, connect, latency, detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])), row[4]]).rstrip()
        for row in rows
    ]
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines += ["", f"{len(results)} hosts: {summary} ({seconds:.2f} s)"]
    return "\n".join(lines)


@click.command("ping")
@click.argument("pattern", required=False, default="all")
@inventory_options
@click.option(
    "-f",
    "--forks",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Hosts pinged at once.",
)
@click.option(
    "-T",
    "--timeout",
    type=click.FloatRange(min=0.1),
    help="Seconds to connect to each host (overrides corral_ssh_connect_timeout).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object per host instead of the table."
)
@click.pass_obj
def ping_command(
    obj: Any,
    pattern: str,
    inventories: tuple[str, ...],
    limit: str | None,
    forks: int,
    timeout: float | None,
    as_json: bool,
) -> int:
    """Check that the hosts PATTERN selects (default: all) can be reached.

    \b
    Exit codes: 0 every host answered, 2 a host could not run a command,
    3 a host was unreachable, 4 invalid inventory or pattern.
    """
    from corral.inventory import load_inventory

    inventory = load_inventory(
        inventories,
        plugin_sources=tuple(obj.registry.inventory_sources),
        environ=obj.environ,
        cwd=Path.cwd(),
    )
    hosts = inventory.select(pattern, limit=limit)
    if not hosts:
        click.echo(f"warning: no hosts matched {pattern!r}, nothing to do", err=True)
        return EXIT_OK
    started = time.perf_counter()
    results = ping_hosts(obj.registry, inventory, hosts, forks=forks, timeout=timeout)
    seconds = time.perf_counter() - started
    if as_json:
        for result in results:
            click.echo(json.dumps(asdict(result)))
    else:
        click.echo(render_table(results, seconds))
    statuses = {result.status for result in results}
    if "unreachable" in statuses:
        return EXIT_UNREACHABLE if "failed" not in statuses else EXIT_FAILED
    return EXIT_FAILED if "failed" in statuses else EXIT_OK


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral ping``."""
    cli.add_command(ping_command)


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Add the ``ping`` step (Ansible's ``ping`` module)."""
    register(
        StepType(
            name="ping",
            cooperative=True,
            run=ping,
            schema=PING_SCHEMA,
            aliases=("ansible.builtin.ping", "ansible.legacy.ping"),
            check_mode=True,
            description="Check that the host answers over its connection: ping: pong.",
        )
    )

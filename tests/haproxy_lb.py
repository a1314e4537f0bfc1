"""HAProxy for the tests: its configuration, a server on this machine, and its runtime API.

- :func:`haproxy_config` writes an HTTP load balancer: a frontend, one backend of named
  servers health-checked on ``/health`` every 300 ms, and an admin-level stats socket.
- :func:`local_haproxy` (a fixture) runs HAProxy from Debian's package on this machine
  (scripts/install-test-services), as a process of the test, for the ``haproxy`` step's
  own tests; the playbooks' end-to-end tests run it in a Debian container instead.
- :func:`servers_state` parses ``show servers state`` as the step does, from the test's
  side: name -> ``ready``/``drain``/``maint`` and whether the checks see it up.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import need

from corral_plugins.haproxy.step import parse_servers_state

__all__ = ["LocalHaproxy", "ask", "haproxy_config", "local_haproxy", "servers_state"]


def haproxy_config(
    frontend: tuple[str, int],
    servers: Iterable[tuple[str, str, int]],
    *,
    socket_path: str = "/run/haproxy/admin.sock",
    disabled: Iterable[str] = (),
    backend: str = "app",
) -> str:
    """haproxy.cfg: ``frontend`` (address, port) to ``backend`` of (name, address, port)."""
    off = set(disabled)
    lines = [
        "global",
        f"    stats socket {socket_path} mode 660 level admin",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 10s",
        "    timeout server 10s",
        "frontend web",
        f"    bind {frontend[0]}:{frontend[1]}",
        f"    default_backend {backend}",
        f"backend {backend}",
        "    option httpchk GET /health",
        "    default-server check inter 300ms fall 2 rise 1",
    ]
    for name, address, port in servers:
        lines.append(f"    server {name} {address}:{port}{' disabled' if name in off else ''}")
    return "\n".join(lines) + "\n"


def ask(socket_path: str | Path, command: str) -> str:
    """Send one command to HAProxy's runtime API; its whole answer."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(str(socket_path))
        conn.sendall(f"{command}\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def servers_state(answer: str) -> dict[str, tuple[str, bool]]:
    """``show servers state`` as name -> (admin state, up)."""
    return {name: (s["state"], s["up"]) for name, s in parse_servers_state(answer).items()}


@dataclass
class LocalHaproxy:
    """HAProxy running on this machine: its config file, stats socket and process."""

    config: Path
    socket: Path
    process: subprocess.Popen[bytes]

    def state(self, backend: str = "app") -> dict[str, tuple[str, bool]]:
        return servers_state(ask(self.socket, f"show servers state {backend}"))


@pytest.fixture
def local_haproxy(tmp_path: Path) -> Iterator[Callable[[str], LocalHaproxy]]:
    """``local_haproxy(config_text)``: start HAProxy with that config; stopped afterwards."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    need(Path(binary).exists(), "haproxy is not installed (scripts/install-test-services)")
    started: list[LocalHaproxy] = []

    def start(text: str) -> LocalHaproxy:
        config = tmp_path / "haproxy.cfg"
        sock = tmp_path / "admin.sock"
        config.write_text(text.replace("/run/haproxy/admin.sock", str(sock)))
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stderr=subprocess.PIPE)
        lb = LocalHaproxy(config, sock, process)
        started.append(lb)
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "HAProxy did not open its stats socket"
            time.sleep(0.05)
        return lb

    yield start
    for lb in started:
        lb.process.terminate()
        lb.process.wait(timeout=10)

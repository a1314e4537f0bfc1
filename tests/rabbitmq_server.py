"""A real RabbitMQ server for the tests (Debian's rabbitmq-server), started from a temp dir.

A broker for the celery plugin (its result backend stays Redis). The node is private to
the test: its own node name (``corral-test-PID@localhost``), data and log directories,
``HOME`` (the Erlang cookie), AMQP and distribution ports, and its own epmd on a port of
its own, started here so that no system-wide epmd or rabbitmq-server is used or left
behind. Everything listens on 127.0.0.1. The server and its epmd are stopped by their
PIDs (the server's process group, which the test started, if it does not stop in time).
:meth:`RabbitServer.restart` brings it back on the same ports with the same data.

Test modules take the fixture as ``rabbitmq_server = rabbitmq_service.rabbitmq_server``;
under ``CI=true`` a server that cannot start fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import need
from redis_server import stop_process
from sshd import free_port

__all__ = ["RABBITMQ_SERVER", "RabbitServer", "rabbitmq_server"]

# The package's own start script; /usr/sbin/rabbitmq-server would switch to the
# rabbitmq user and the system-wide directories.
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD = "/usr/bin/epmd"
START_TIMEOUT = 60.0  # the Erlang VM and the broker's boot take a few seconds
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


def answers_amqp(port: int, timeout: float = 1.0) -> bool:
    """True when an AMQP 0-9-1 broker on 127.0.0.1:``port`` opens a connection (a method
    frame, type 1, in answer to the protocol header): the broker has booted."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(AMQP_HEADER)
            return conn.recv(1) == b"\x01"
    except OSError:
        return False


class RabbitServer:
    """One rabbitmq-server node of the test: :attr:`url`, :meth:`stop`, :meth:`restart`."""

    def __init__(self, binary: str = RABBITMQ_SERVER) -> None:
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="corral-rabbitmq-"))
        self.port = free_port("127.0.0.1")
        self.dist_port = free_port("127.0.0.1")
        self.epmd_port = free_port("127.0.0.1")
        self.node = f"corral-test-{os.getpid()}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.epmd: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    @property
    def log(self) -> Path:
        return self.base / "log" / f"{self.node}.log"

    def environ(self) -> dict[str, str]:
        base = self.base
        (base / "home").mkdir(exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")  # none: not the system's list
        (base / "rabbitmq-env.conf").write_text("")
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(base / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),  # absent: the defaults
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self) -> None:
        """Start epmd and the node, wait (bounded) until it speaks AMQP; RuntimeError if not."""
        env = self.environ()
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen(
                [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        with (self.base / "startup.log").open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary], cwd=self.base, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not answers_amqp(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self._tail()
                self.stop()
                raise RuntimeError(f"rabbitmq-server did not answer on {self.port}: {tail}")
            time.sleep(0.2)

    def _tail(self) -> str:
        texts = []
        for path in (self.base / "startup.log", self.log):
            if path.exists():
                texts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(texts)

    def stop(self) -> None:
        """Stop the node by its PID (its start script stops the VM cleanly on SIGTERM)."""
        process, self.process = self.process, None
        stop_process(process, 20, group=True)

    def restart(self) -> None:
        """Stop and start again on the same ports, with the same data (a broker restart)."""
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the node and its epmd, and remove the temp dir."""
        self.stop()
        epmd, self.epmd = self.epmd, None
        stop_process(epmd)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def rabbitmq_server() -> Iterator[RabbitServer]:
    """A RabbitMQ node for this module; skipped locally (failed under CI) if it cannot start."""
    need(
        Path(RABBITMQ_SERVER).exists() and Path(EPMD).exists(),
        "rabbitmq-server is not installed (scripts/install-test-services)",
    )
    server = RabbitServer()
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        server.remove()
        need(False, f"rabbitmq-server did not start: {exc}")
    try:
        yield server
    finally:
        server.remove()

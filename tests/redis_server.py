"""A real Redis server for the tests (Debian's redis-server), started from a temp dir.

The celery plugin's broker and result backend. The server listens on 127.0.0.1 and a free
port and is stopped by its PID only. By default it keeps nothing on disk (no RDB snapshot,
no append-only file); ``durable=True`` gives it the append-only file a production broker
has (docs/scale-out.md), so that :meth:`RedisServer.restart`, which brings it back on the
same port, keeps the queued messages and results, as a broker restart does.

Test modules take the fixture as ``redis_server = redis_service.redis_server`` (as with
``postgres``); under ``CI=true`` a server that cannot start fails the test instead of
skipping it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import need
from sshd import free_port

__all__ = ["REDIS_SERVER", "RedisServer", "durable_redis_server", "redis_server", "stop_process"]

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT = 10.0


def answers_ping(port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server on 127.0.0.1:``port`` answers ``PING`` with ``+PONG``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop_process(
    process: subprocess.Popen[bytes] | None, timeout: float = 10.0, *, group: bool = False
) -> None:
    """SIGTERM the test's ``process`` and wait; SIGKILL it after ``timeout`` s (with
    ``group``, its process group: one it started in a session of its own)."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class RedisServer:
    """One redis-server process of the test: :attr:`url`, :meth:`stop`, :meth:`restart`."""

    def __init__(self, binary: str = REDIS_SERVER, *, durable: bool = False) -> None:
        self.binary = binary
        self.durable = durable
        self.base = Path(tempfile.mkdtemp(prefix="corral-redis-"))
        self.port = free_port("127.0.0.1")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait (bounded) until it answers PING; RuntimeError if not."""
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.base), "--save", "",
                "--appendonly", "yes" if self.durable else "no", "--appendfsync", "everysec",
                "--logfile", str(self.base / "redis.log")]  # fmt: skip
        self.process = subprocess.Popen(argv, cwd=self.base, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not answers_ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.base / "redis.log"
                tail = log.read_text()[-1500:] if log.exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING on {self.port}: {tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        stop_process(process)

    def restart(self) -> None:
        """Stop and start again on the same port (what a broker restart looks like)."""
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server and remove its temp dir."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for this module; skipped locally (failed under CI) if it cannot start."""
    yield from _served(durable=False)


@pytest.fixture(scope="module")
def durable_redis_server() -> Iterator[RedisServer]:
    """A Redis server with an append-only file, for tests that restart it."""
    yield from _served(durable=True)


def _served(*, durable: bool) -> Iterator[RedisServer]:
    need(
        Path(REDIS_SERVER).exists(), "redis-server is not installed (scripts/install-test-services)"
    )
    server = RedisServer(durable=durable)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        server.remove()
        need(False, f"redis-server did not start: {exc}")
    try:
        yield server
    finally:
        server.remove()

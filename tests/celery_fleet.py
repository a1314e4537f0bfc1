"""Real ``corral worker`` processes on a real redis-server, for the celery plugin's tests.

Workers use ``--pool solo`` (no child processes) to stay light, or one pool process
(``pool="prefork"``, the default of ``corral worker``) where that is what is tested;
every wait has a deadline; each worker is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from redis_server import RedisServer

from corral_plugins.celery.app import make_app
from corral_plugins.celery.crypto import new_key
from corral_plugins.celery.settings import load_settings

KEY = new_key()
CORRAL = Path(sys.executable).with_name("corral")


class Worker:
    """A ``corral worker`` subprocess of the test, stopped by its PID."""

    def __init__(
        self,
        base: Path,
        url: str,
        name: str,
        queues: tuple[str, ...],
        env: Mapping[str, str] | None = None,
        pool: str = "solo",
    ) -> None:
        self.name = f"{name}@test"
        self.queues = queues
        self.log = base / f"{name}.log"
        base.mkdir(parents=True, exist_ok=True)
        environ = {**os.environ, "CORRAL_HOME": str(base / "home"), "CORRAL_BROKER_KEY": KEY}
        environ.pop("CORRAL_BROKER_URL", None)
        environ.update(env or {})
        argv = [str(CORRAL), "worker", "--broker", url, "--pool", pool, "--concurrency", "1",
                "--name", self.name, "--loglevel", "info",
                *[a for q in queues for a in ("-Q", q)]]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=base, env=environ, stdout=log, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` and wait for the exit code (SIGKILL after ``timeout`` s)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)


def client(url: str, backend: str | None = None) -> Any:
    """An app of the test's own, to ping workers and send tasks."""
    environ = {"CORRAL_BROKER_KEY": KEY, **({"CORRAL_RESULT_BACKEND": backend} if backend else {})}
    return make_app(load_settings(environ, broker_url=url))


def answering(app: Any, names: list[str]) -> bool:
    try:
        replies = app.control.inspect(destination=names, timeout=0.5, limit=len(names)).ping()
    except Exception:  # the broker is still coming back
        return False
    return set(replies or {}) == set(names)


def wait_ready(
    url: str, workers: list[Worker], timeout: float = 30, backend: str | None = None
) -> None:
    app = client(url, backend)
    try:
        for worker in workers:
            assert worker.process.poll() is None, worker.output()
        names = [w.name for w in workers]
        wait_until(lambda: answering(app, names), timeout, f"{names} to answer ({workers[0].log})")
    finally:
        app.close()


@pytest.fixture(scope="module")
def fleet(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Worker]]:
    base = tmp_path_factory.mktemp("fleet")
    with started(base, redis_server.url, {"wa": ("corral",), "wb": ("asia", "corral")}) as both:
        yield both


@contextlib.contextmanager
def started(base: Path, url: str, queues: Mapping[str, tuple[str, ...]]) -> Iterator[list[Worker]]:
    """Workers named as ``queues``' keys, serving its values, answering; stopped after."""
    workers = [Worker(base, url, name, served) for name, served in queues.items()]
    try:
        wait_ready(url, workers)
        yield workers
    finally:
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.stop()

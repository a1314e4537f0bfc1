"""Real ``corral worker`` processes on a real redis-server: listing, routing, restarts, signals.

Two workers run for the whole module (``fleet``): ``wa`` serves ``corral``, ``wb`` serves
``asia`` and ``corral``. Workers use ``--pool solo`` (no child processes) to stay light,
and every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis_server as redis_service
from celery.exceptions import TimeoutError as CeleryTimeout
from redis_server import RedisServer

from corral.errors import EXIT_UNREACHABLE
from corral.testing import CorralProject
from corral_plugins.celery.app import PING, make_app
from corral_plugins.celery.crypto import new_key
from corral_plugins.celery.settings import load_settings

redis_server = redis_service.redis_server  # the module-scoped server fixture

KEY = new_key()
CORRAL = Path(sys.executable).with_name("corral")


class Worker:
    """A ``corral worker`` subprocess of the test, stopped by its PID."""

    def __init__(self, base: Path, url: str, name: str, queues: tuple[str, ...]) -> None:
        self.name = f"{name}@test"
        self.queues = queues
        self.log = base / f"{name}.log"
        base.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CORRAL_HOME": str(base / "home"), "CORRAL_BROKER_KEY": KEY}
        env.pop("CORRAL_BROKER_URL", None)
        argv = [str(CORRAL), "worker", "--broker", url, "--pool", "solo", "--name", self.name,
                "--loglevel", "info", *[a for q in queues for a in ("-Q", q)]]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT
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


def client(url: str) -> Any:
    """An app of the test's own, to ping workers and send tasks."""
    return make_app(load_settings({"CORRAL_BROKER_KEY": KEY}, broker_url=url))


def answering(app: Any, names: list[str]) -> bool:
    try:
        replies = app.control.inspect(destination=names, timeout=0.5, limit=len(names)).ping()
    except Exception:  # the broker is still coming back
        return False
    return set(replies or {}) == set(names)


def wait_ready(url: str, workers: list[Worker], timeout: float = 30) -> None:
    app = client(url)
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
    workers = [
        Worker(base, redis_server.url, "wa", ("corral",)),
        Worker(base, redis_server.url, "wb", ("asia", "corral")),
    ]
    try:
        wait_ready(redis_server.url, workers)
        yield workers
    finally:
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.stop()


def test_corral_workers_lists_both_workers_with_their_queues(
    fleet: list[Worker], redis_server: RedisServer, corral_project: CorralProject
) -> None:
    wait_ready(redis_server.url, fleet)
    listed = corral_project.run(
        "workers", "--broker", redis_server.url, "--timeout", "1", "--output", "json"
    )
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows == [
        {"name": "wa@test", "queues": ["corral"], "active": 0},
        {"name": "wb@test", "queues": ["asia", "corral"], "active": 0},
    ]
    table = corral_project.run(
        "workers", "--timeout", "1", env={"CORRAL_BROKER_URL": redis_server.url}
    )
    assert table.exit_code == 0, table.stderr
    assert table.lines()[0].split() == ["WORKER", "QUEUES", "ACTIVE"]
    assert [line.split() for line in table.lines()[1:]] == [
        ["wa@test", "corral", "0"],
        ["wb@test", "asia,corral", "0"],
    ]


def test_ping_on_queue_eu_waits_for_a_worker_that_serves_eu(
    fleet: list[Worker], redis_server: RedisServer, tmp_path: Path
) -> None:
    wait_ready(redis_server.url, fleet)
    app = client(redis_server.url)
    try:
        on_asia = app.send_task(PING, queue="asia").get(timeout=15)
        assert on_asia["hostname"] == "wb@test"
        assert on_asia["queues"] == ["asia", "corral"]
        assert on_asia["pid"] == fleet[1].process.pid

        waiting = app.send_task(PING, queue="eu")
        with pytest.raises(CeleryTimeout):
            waiting.get(timeout=1.5)  # no worker serves eu yet
        eu = Worker(tmp_path, redis_server.url, "weu", ("eu",))
        try:
            answer = waiting.get(timeout=30)
            assert answer["hostname"] == "weu@test"
            assert answer["queues"] == ["eu"]
            assert answer["version"]
        finally:
            eu.stop()
    finally:
        app.close()


def test_sigterm_stops_a_worker_with_exit_0(redis_server: RedisServer, tmp_path: Path) -> None:
    worker = Worker(tmp_path, redis_server.url, "wterm", ("term",))
    wait_ready(redis_server.url, [worker])
    assert worker.stop(signal.SIGTERM) == 0, worker.output()
    assert "Traceback" not in worker.output()


def test_corral_workers_with_the_broker_down_fails_fast(
    tmp_path: Path, corral_project: CorralProject
) -> None:
    server = RedisServer()
    try:
        server.start()
        nobody = corral_project.run("workers", "--broker", server.url, "--timeout", "1")
        assert nobody.exit_code == EXIT_UNREACHABLE
        assert nobody.stderr.startswith("error: no worker answered within 1 s")
        server.stop()
        started = time.monotonic()
        down = corral_project.run("workers", "--broker", server.url, "--timeout", "2")
        assert time.monotonic() - started < 5
    finally:
        server.remove()
    assert down.exit_code == EXIT_UNREACHABLE
    lines = down.stderr.splitlines()
    assert lines[0].startswith(f"error: broker {server.url} is not reachable")
    assert lines[1].startswith("hint:")
    assert len(lines) == 2


def test_workers_come_back_after_a_broker_restart(
    fleet: list[Worker], redis_server: RedisServer
) -> None:
    wait_ready(redis_server.url, fleet)
    redis_server.restart()
    wait_ready(redis_server.url, fleet, timeout=40)
    app = client(redis_server.url)
    try:
        assert app.send_task(PING, queue="corral").get(timeout=15)["version"]
        assert app.send_task(PING, queue="asia").get(timeout=15)["hostname"] == "wb@test"
    finally:
        app.close()
    for worker in fleet:
        assert worker.process.poll() is None, worker.output()

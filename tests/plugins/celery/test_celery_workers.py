"""Real ``corral worker`` processes on a real redis-server: listing, routing, restarts, signals.

Two workers run for the whole module (``fleet``): ``wa`` serves ``corral``, ``wb`` serves
``asia`` and ``corral``. Workers use ``--pool solo`` (no child processes) to stay light,
and every wait has a deadline.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import redis_server as redis_service
from celery.exceptions import TimeoutError as CeleryTimeout
from celery_fleet import Worker, client, fleet, wait_ready
from redis_server import RedisServer

from corral.errors import EXIT_UNREACHABLE
from corral.testing import CorralProject
from corral_plugins.celery.app import PING

redis_server = redis_service.redis_server  # the module-scoped server fixture
__all__ = ["fleet", "redis_server"]  # fixtures, taken from their modules


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

"""A RabbitMQ broker (a private rabbitmq-server node) with the result backend on Redis:
the same run as the local executor's (and so as on Redis alone, test_celery_executor.py),
on two real workers; without a Redis result backend, a one-line error."""

from __future__ import annotations

import re
from pathlib import Path

import rabbitmq_server as rabbitmq_service
import redis_server as redis_service
from celery_fleet import KEY, Worker, wait_ready
from rabbitmq_server import RabbitServer
from redis_server import RedisServer
from test_celery_broker_restart import restart_mid_run
from test_celery_faults import kill_mid_shard
from test_engine_hub import HOSTS, PLAYBOOK, _shape

from corral.testing import CorralProject

rabbitmq_server = rabbitmq_service.rabbitmq_server  # the module-scoped server fixtures
redis_server = redis_service.redis_server
__all__ = ["rabbitmq_server", "redis_server"]

SUCCEEDED = re.compile(r"Task corral\.shard\[[0-9a-f-]+\] succeeded")


def test_a_rabbitmq_broker_runs_the_same_run_as_here(
    rabbitmq_server: RabbitServer, redis_server: RedisServer, corral_project: CorralProject
) -> None:
    backend = f"redis://127.0.0.1:{redis_server.port}/1"
    celery = {"CORRAL_BROKER_URL": rabbitmq_server.url, "CORRAL_RESULT_BACKEND": backend,
              "CORRAL_BROKER_KEY": KEY, "CORRAL_SHARD_SIZE": "3"}  # fmt: skip
    base = corral_project.path.parent / "workers"
    workers = [
        Worker(base, rabbitmq_server.url, name, ("corral",), env={"CORRAL_RESULT_BACKEND": backend})
        for name in ("qa", "qb")
    ]
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    argv = ("run", "site.yml", "-i", "hosts.ini", "--forks", "20", "--output", "json")
    try:
        wait_ready(rabbitmq_server.url, workers, backend=backend)
        local = corral_project.run(*argv)
        remote = corral_project.run_subprocess(
            *argv, "--executor", "celery", env=celery, timeout=120
        )
    finally:
        for worker in workers:
            worker.stop()
    logs = "\n".join(w.output() for w in workers)
    assert remote.exit_code == local.exit_code == 3, f"{remote.output[-3000:]}\n{logs}"
    assert remote.recap() == local.recap()
    assert _shape(remote.json_lines()) == _shape(local.json_lines())
    # Both workers ran shards they took from RabbitMQ.
    assert all(SUCCEEDED.search(w.log.read_text(errors="replace")) for w in workers), logs


def test_a_rabbitmq_restart_mid_run_loses_no_unit_and_runs_none_twice(
    rabbitmq_server: RabbitServer,
    redis_server: RedisServer,
    corral_project: CorralProject,
    tmp_path: Path,
) -> None:
    backend = {"CORRAL_RESULT_BACKEND": f"redis://127.0.0.1:{redis_server.port}/1"}
    restart_mid_run(corral_project, tmp_path, rabbitmq_server.url, rabbitmq_server, backend)


def test_a_worker_killed_mid_shard_on_rabbitmq_loses_no_unit(
    rabbitmq_server: RabbitServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    # No visibility timeout here: the shard is back on the queue when the connection
    # of the killed worker closes.
    backend = {"CORRAL_RESULT_BACKEND": f"redis://127.0.0.1:{redis_server.port}/1"}
    kill_mid_shard(rabbitmq_server.url, tmp_path, backend)


def test_a_rabbitmq_broker_without_a_redis_result_backend_is_a_one_line_error(
    corral_project: CorralProject,
) -> None:
    corral_project.write("hosts.ini", "[web]\nh1 ansible_connection=local\n")
    corral_project.write("site.yml", "- hosts: web\n  tasks:\n    - command: echo hi\n")
    env = {"CORRAL_BROKER_URL": "amqp://guest:secret@127.0.0.1:1//", "CORRAL_BROKER_KEY": KEY}
    result = corral_project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "--executor", "celery", env=env, timeout=60
    )
    assert result.exit_code == 5, result.output
    assert result.stderr.splitlines()[0] == (
        "error: broker amqp://guest:***@127.0.0.1:1// is not Redis, and the workers' "
        "journal needs a Redis result backend"
    )
    assert "CORRAL_RESULT_BACKEND" in result.stderr
    assert "Traceback" not in result.output
    # A worker says the same, before it connects anywhere.
    worker = corral_project.run_subprocess("worker", env=env, timeout=60)
    assert worker.exit_code == 5, worker.output
    assert "needs a Redis result backend" in worker.stderr

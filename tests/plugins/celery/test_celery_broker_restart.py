"""A broker restart in the middle of a run: Redis with its append-only file (as
docs/scale-out.md tells users to run it) stops and comes back on the same port while
shards are out; the run finishes as it would have, no unit lost and none run twice."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import redis_server as redis_service
from celery_fleet import CORRAL, KEY, Worker, wait_ready, wait_until
from redis_server import RedisServer
from served import Served

from corral.testing import CorralProject
from corral.testing.fixtures import RECAP_KEYS, CliResult

durable_redis_server = redis_service.durable_redis_server  # the module-scoped server fixture
__all__ = ["durable_redis_server"]

HOSTS = "[web]\nh[1:4] ansible_connection=local\n"
# Three rounds of a second each: a mark per unit, counted afterwards.
PLAYBOOK = """
- hosts: web
  gather_facts: false
  tasks:
""" + "".join(
    f"""    - name: round {n}
      shell: "echo {{{{ inventory_hostname }}}}-{n} >> {{{{ marks }}}}; sleep 1"
"""
    for n in (1, 2, 3)
)


def marks_in(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_broker_restart_mid_run_loses_no_unit_and_runs_none_twice(
    durable_redis_server: RedisServer, corral_project: CorralProject, tmp_path: Path
) -> None:
    server = durable_redis_server
    restart_mid_run(corral_project, tmp_path, server.url, server, {})


def restart_mid_run(
    project: CorralProject,
    tmp_path: Path,
    url: str,
    broker: Broker,
    more_env: Mapping[str, str],
) -> None:
    """Run PLAYBOOK on two workers of the broker at ``url``, stop the broker while every
    host is in its first unit, start it again once the run says it waits for it, and
    check the run is as undisturbed, every unit run once."""
    project.write("hosts.ini", HOSTS)
    project.write("site.yml", PLAYBOOK)
    argv = ("run", "site.yml", "-i", "hosts.ini", "--forks", "2", "--output", "json")

    base = tmp_path / "workers"
    # Prefork, as `corral worker` runs by default: the shard runs in a pool process while
    # the worker's main process loses the broker and reconnects.
    workers = [
        Worker(base, url, name, ("corral",), env=more_env, pool="prefork") for name in ("ra", "rb")
    ]
    marks = tmp_path / "marks.txt"
    env = {**os.environ, **project.env, "CORRAL_BROKER_URL": url, "CORRAL_BROKER_KEY": KEY,
           "CORRAL_SHARD_SIZE": "2", **more_env}  # fmt: skip
    try:
        wait_ready(url, workers, backend=more_env.get("CORRAL_RESULT_BACKEND"))
        with (tmp_path / "run.err").open("w") as errors:
            run = subprocess.Popen(
                [str(CORRAL), *argv, "-e", f"marks={marks}", "--executor", "celery"],
                cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
            )  # fmt: skip
        lines: list[str] = []
        reader = threading.Thread(target=_read_lines, args=(run, lines), daemon=True)
        reader.start()
        try:
            # Every host is in its first unit (a second long) on the workers: stop the
            # broker, and start it again once the run says it waits for it.
            wait_until(lambda: len(marks_in(marks)) >= 4, 30, "the first round to start")
            broker.stop()
            try:
                wait_until(lambda: _waits_for_broker(lines), 30, "the run to wait for the broker")
            finally:
                broker.start()
            run.wait(timeout=90)
            reader.join(timeout=10)
            out, err = "".join(lines), (tmp_path / "run.err").read_text()
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(timeout=10)
    finally:
        for worker in workers:
            worker.stop()
    remote = CliResult(argv, run.returncode, out, err)
    logs = "\n".join(w.output() for w in workers)
    assert remote.exit_code == 0, f"{err[-2000:]}\n{logs}"
    # The recap of a run nothing happened to (three changed units a host).
    assert remote.recap() == {
        f"h{h}": {k: 3 if k in ("ok", "changed") else 0 for k in RECAP_KEYS} for h in range(1, 5)
    }
    ran = Counter(marks_in(marks))
    assert ran == Counter(f"h{h}-{n}" for h in range(1, 5) for n in (1, 2, 3)), ran


class Broker(Protocol):
    """What the test restarts: tests/redis_server.py's and tests/rabbitmq_server.py's."""

    def stop(self) -> None: ...
    def start(self) -> None: ...


def _read_lines(run: subprocess.Popen[str], lines: list[str]) -> None:
    assert run.stdout is not None
    for line in run.stdout:
        lines.append(line)


def _waits_for_broker(lines: list[str]) -> bool:
    """Whether the run has said that the broker is gone and that it waits for it."""
    for line in list(lines):
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            message = str(event.get("message", ""))
            if event.get("event") == "warning" and "waiting up to" in message:
                return "is not reachable" in message
    return False


def test_a_broker_that_does_not_come_back_ends_the_run_with_one_line(
    durable_redis_server: RedisServer, corral_project: CorralProject, tmp_path: Path
) -> None:
    server = durable_redis_server
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    marks = tmp_path / "marks.txt"
    worker = Worker(tmp_path / "workers", server.url, "gone", ("corral",))
    env = {**os.environ, **corral_project.env, "CORRAL_BROKER_URL": server.url,
           "CORRAL_BROKER_KEY": KEY, "CORRAL_BROKER_WAIT": "2"}  # fmt: skip
    argv = [str(CORRAL), "run", "site.yml", "-i", "hosts.ini", "-e", f"marks={marks}",
            "--executor", "celery"]  # fmt: skip
    try:
        wait_ready(server.url, [worker])
        run = subprocess.Popen(
            argv, cwd=corral_project.path, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_until(lambda: len(marks_in(marks)) >= 4, 30, "the first round to start")
            server.stop()
            out, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(timeout=10)
            server.start()
        assert run.returncode == 3, f"{out[-2000:]}\n{err[-2000:]}"
        assert f"error: broker {server.url} did not come back within 2 s" in err, err
        assert "Traceback" not in err
        history = json.loads(corral_project.run("history", "--json").stdout)
        assert history[0]["status"] == "interrupted", history
        # With the broker back, the run goes on where it stopped, as its hint says.
        celery = {k: v for k, v in env.items() if k.startswith("CORRAL_BROKER")}
        resumed = corral_project.run_subprocess(
            "resume", history[0]["id"], "--executor", "celery", env=celery, timeout=60
        )
    finally:
        worker.stop()
    assert resumed.exit_code == 0, resumed.output[-3000:]
    ran = Counter(marks_in(marks))
    assert ran == Counter(f"h{h}-{n}" for h in range(1, 5) for n in (1, 2, 3)), ran


def test_a_served_run_on_a_worker_rides_out_a_broker_restart(
    durable_redis_server: RedisServer, served: Served, tmp_path: Path
) -> None:
    # corral serve --executor celery: the run is a worker's; the broker goes away for a
    # few seconds while it runs, then comes back. The run's record on the server is whole.
    broker = durable_redis_server
    marks = tmp_path / "marks.txt"
    served.project.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        + "".join(f"    - shell: echo {n} >> {marks}; sleep 1\n" for n in (1, 2, 3, 4)),
    )
    worker = Worker(tmp_path / "workers", broker.url, "sr", ("corral",), pool="prefork")
    try:
        wait_ready(broker.url, [worker])
        served.project.env.update({"CORRAL_BROKER_URL": broker.url, "CORRAL_BROKER_KEY": KEY})
        served.start("--executor", "celery", "--no-login-link")
        with served.client(served.token("run")) as api:
            run_id = api.post("/api/v1/runs", json={"playbook": "site.yml"}).json()["run_id"]
            wait_until(lambda: len(marks_in(marks)) >= 1, 30, "the run to start on the worker")
            broker.stop()
            try:
                wait_until(lambda: len(marks_in(marks)) >= 2, 30, "the run to go on without it")
            finally:
                broker.start()
            run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
    finally:
        worker.stop()
    assert run["status"] == "succeeded", served.output()[-3000:] + worker.output()
    assert marks_in(marks) == ["1", "2", "3", "4"]
    shown = served.project.run("show", run_id, "--json")
    assert json.loads(shown.stdout)["recap"]["localhost"]["changed"] == 4

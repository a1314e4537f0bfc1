"""A broker restart in the middle of a run: Redis with its append-only file (as
docs/scale-out.md tells users to run it) stops and comes back on the same port while
shards are out; the run finishes as it would have, no unit lost and none run twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import redis_server as redis_service
from celery_fleet import KEY, Worker, wait_ready, wait_until
from redis_server import RedisServer

from corral.testing import CorralProject
from corral.testing.fixtures import RECAP_KEYS, CliResult

durable_redis_server = redis_service.durable_redis_server  # the module-scoped server fixture
__all__ = ["durable_redis_server"]

CORRAL = Path(sys.executable).with_name("corral")
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
    restart_mid_run(corral_project, tmp_path, server.url, server.restart, {})


def restart_mid_run(
    project: CorralProject,
    tmp_path: Path,
    url: str,
    restart: Callable[[], None],
    more_env: Mapping[str, str],
) -> None:
    """Run PLAYBOOK on two workers of the broker at ``url``, ``restart`` it while every host
    is in its first unit, and check the run is as undisturbed, every unit run once."""
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
        run = subprocess.Popen(
            [str(CORRAL), *argv, "-e", f"marks={marks}", "--executor", "celery"],
            cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            # Every host is in its first unit (a second long) on the workers: restart.
            wait_until(lambda: len(marks_in(marks)) >= 4, 30, "the first round to start")
            restart()
            out, err = run.communicate(timeout=90)
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
    # The coordinator saw the broker go and said it would wait for it.
    warnings = [e["message"] for e in remote.json_lines() if e.get("event") == "warning"]
    assert any("is not reachable" in w and "waiting up to" in w for w in warnings), warnings
    ran = Counter(marks_in(marks))
    assert ran == Counter(f"h{h}-{n}" for h in range(1, 5) for n in (1, 2, 3)), ran

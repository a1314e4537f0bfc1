"""A worker killed in the middle of a shard: its message goes to another worker, which
runs only the units the first had not finished (the journal in the result backend)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import redis_server as redis_service
from celery_fleet import KEY, Worker, wait_ready, wait_until
from redis_server import RedisServer

redis_server = redis_service.redis_server  # the module-scoped server fixture
__all__ = ["redis_server"]

CORRAL = Path(sys.executable).with_name("corral")
HOSTS = "[web]\nh[1:6] ansible_connection=local\n"
PLAYBOOK = """
- hosts: web
  gather_facts: false
  tasks:
    - name: leave a mark, then take a while
      shell: "echo {{ inventory_hostname }} >> {{ marks }}; sleep 1"
    - name: afterwards
      command: echo done
"""


def test_kill_9_mid_shard_loses_no_unit_and_runs_no_finished_unit_twice(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    kill_mid_shard(redis_server.url, tmp_path, {})


def kill_mid_shard(url: str, tmp_path: Path, more_env: Mapping[str, str]) -> None:
    """kill -9 the worker running a shard of three hosts after its first unit; a second
    worker of the broker at ``url`` runs the shard's two other units only."""
    base = tmp_path / "workers"
    base.mkdir()
    # A lost worker's message comes back after 3 s, not the default 300 (Redis).
    (base / "corral.yml").write_text("scale_out:\n  visibility_timeout: 3\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "hosts.ini").write_text(HOSTS)
    (project / "site.yml").write_text(PLAYBOOK)
    marks = tmp_path / "marks.txt"
    first = Worker(base, url, "first", ("corral",), env=more_env)
    second: Worker | None = None
    wait_ready(url, [first], backend=more_env.get("CORRAL_RESULT_BACKEND"))
    env = {
        **os.environ,
        "CORRAL_HOME": str(tmp_path / "home"),
        "CORRAL_BROKER_URL": url,
        "CORRAL_BROKER_KEY": KEY,
        "CORRAL_SHARD_SIZE": "3",
        **more_env,
    }
    argv = [str(CORRAL), "run", "site.yml", "-i", "hosts.ini", "-e", f"marks={marks}",
            "--forks", "1", "--executor", "celery", "--output", "json"]  # fmt: skip
    run = subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.PIPE, text=True)
    try:
        # The first worker takes a shard of three hosts, one unit after the other (forks 1):
        # once the second host's mark is there, the first host's unit has finished.
        def marked() -> list[str]:
            return marks.read_text().split() if marks.exists() else []

        wait_until(lambda: len(marked()) >= 2, 30, "two units to start")
        first.stop(signal.SIGKILL)
        shard = marked()
        assert len(shard) == 2
        second = Worker(base, url, "second", ("corral",), env=more_env)
        out, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
        for worker in (first, second):
            if worker is not None and worker.process.poll() is None:
                worker.stop()
    assert run.returncode == 0, out[-3000:]
    ran = marked()
    # The unit that had finished on the killed worker did not run again; the one it was
    # in the middle of did; every host's unit ran.
    assert ran.count(shard[0]) == 1
    assert ran.count(shard[1]) == 2
    assert sorted(set(ran)) == [f"h{i}" for i in range(1, 7)]
    assert len(ran) == 7

"""The coordinator killed (kill -9) while shards are out on workers: ``corral resume RUN
--executor celery`` finishes the run from the store. Units finished before the kill do
not run again (those the coordinator had applied are in the store; those the workers
finished after it died are in the workers' journal), and the run's recap, history and
show are the whole run's."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path

import redis_server as redis_service
from celery_fleet import KEY, Worker, wait_ready, wait_until
from redis_server import RedisServer
from test_celery_broker_restart import CORRAL, HOSTS, PLAYBOOK, marks_in

from corral.testing import CorralProject

redis_server = redis_service.redis_server  # the module-scoped server fixture
__all__ = ["redis_server"]

SUCCEEDED = re.compile(r"Task corral\.shard\[[0-9a-f-]+\] succeeded")


def test_a_killed_coordinator_resumes_from_the_store_on_the_workers(
    redis_server: RedisServer, corral_project: CorralProject, tmp_path: Path
) -> None:
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    local = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", "--output", "json",
        "-e", f"marks={tmp_path / 'local.txt'}",
    )  # fmt: skip
    assert local.exit_code == 0, local.output[-3000:]

    base = tmp_path / "workers"
    workers = [Worker(base, redis_server.url, name, ("corral",)) for name in ("ca", "cb")]
    marks = tmp_path / "marks.txt"
    celery = {"CORRAL_BROKER_URL": redis_server.url, "CORRAL_BROKER_KEY": KEY,
              "CORRAL_SHARD_SIZE": "2"}  # fmt: skip

    def shards_done() -> int:
        return sum(len(SUCCEEDED.findall(w.log.read_text(errors="replace"))) for w in workers)

    try:
        wait_ready(redis_server.url, workers)
        argv = [str(CORRAL), "run", "site.yml", "-i", "hosts.ini", "--forks", "2",
                "-e", f"marks={marks}", "--executor", "celery", "--output", "json"]  # fmt: skip
        run = subprocess.Popen(
            argv, cwd=corral_project.path, env={**os.environ, **corral_project.env, **celery},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            # Round 1 is done and round 2's four units are running on the workers.
            wait_until(lambda: len(marks_in(marks)) >= 8, 30, "the second round to start")
            os.kill(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(timeout=10)
        # The workers finish the shards they had (and write their units down), as they
        # would with nobody waiting for the answers.
        wait_until(lambda: shards_done() >= 4, 30, "the workers to finish round 2")
        history = json.loads(corral_project.run("history", "--json").stdout)
        run_id = history[0]["id"]  # the newest run: the killed one (the local one is older)
        assert history[0]["status"] == "interrupted", history
        resumed = corral_project.run_subprocess(
            "resume", run_id, "--executor", "celery", "--output", "json",
            env=celery, timeout=90,
        )  # fmt: skip
    finally:
        for worker in workers:
            worker.stop()
    logs = "\n".join(w.output() for w in workers)
    assert resumed.exit_code == 0, f"{resumed.output[-3000:]}\n{logs}"
    # Every unit ran once: round 1 and round 2 were not run again, round 3 ran on resume.
    ran = Counter(marks_in(marks))
    assert ran == Counter(f"h{h}-{n}" for h in range(1, 5) for n in (1, 2, 3)), ran
    assert shards_done() > 4  # round 3 went to the workers
    assert resumed.recap() == local.recap()
    history = json.loads(corral_project.run("history", "--json").stdout)
    assert (history[0]["id"], history[0]["status"]) == (run_id, "succeeded")
    shown = json.loads(corral_project.run("show", run_id, "--json").stdout)
    assert (shown["run"]["status"], shown["run"]["resumes"]) == ("succeeded", 1)
    assert shown["recap"] == local.recap()
    assert shown["units"] == {"finished": 12, "ok": 12}

"""``corral run --executor celery``: a run's host work on two real workers, same results.

The playbook of tests/test_engine_hub.py (serial batches, loops with pauses, retries,
run_once, a timeout, delegation, a throttle, handlers, block/rescue, an unreachable
host) runs with the local executor and with the celery executor on a real redis-server
and two real ``corral worker`` processes: recaps, results and registered values agree.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis_server as redis_service
from celery_fleet import KEY, Worker, fleet
from redis_server import RedisServer
from test_engine_hub import HOSTS, PLAYBOOK, _shape

from corral.testing import CorralProject
from corral.testing.fixtures import CliResult

redis_server = redis_service.redis_server  # the module-scoped server fixture
__all__ = ["fleet", "redis_server"]  # fixtures, taken from their modules


def _celery_env(server: RedisServer, **more: str) -> dict[str, str]:
    return {"CORRAL_BROKER_URL": server.url, "CORRAL_BROKER_KEY": KEY, **more}


def _on_celery(
    project: CorralProject, server: RedisServer, *args: str, shard_size: int
) -> CliResult:
    """``corral run site.yml -i hosts.ini ARGS --executor celery`` in a subprocess."""
    return project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", *args, "--executor", "celery",
        env=_celery_env(server, CORRAL_SHARD_SIZE=str(shard_size)),
        timeout=120,
    )  # fmt: skip


def _shards_run(workers: list[Worker]) -> dict[str, int]:
    done = re.compile(r"Task corral\.shard\[[0-9a-f-]+\] succeeded")
    return {w.name: len(done.findall(w.log.read_text(errors="replace"))) for w in workers}


def test_the_same_run_on_two_workers_as_here(
    fleet: list[Worker], redis_server: RedisServer, corral_project: CorralProject
) -> None:
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    argv = ("run", "site.yml", "-i", "hosts.ini", "--forks", "20", "--output", "json")
    before = _shards_run(fleet)
    local = corral_project.run(*argv)
    # Shards of 3 hosts: every round of the web play is spread over both workers.
    remote = corral_project.run_subprocess(
        *argv,
        "--executor",
        "celery",
        env=_celery_env(redis_server, CORRAL_SHARD_SIZE="3"),
        timeout=120,
    )
    assert remote.exit_code == local.exit_code == 3, remote.output[-3000:]
    assert remote.recap() == local.recap()
    assert _shape(remote.json_lines()) == _shape(local.json_lines())
    after = _shards_run(fleet)
    assert all(after[w.name] > before[w.name] for w in fleet), after
    # The coordinator alone wrote the run store: corral show reads the run back.
    runs = json.loads(corral_project.run("history", "--json").stdout)
    remote_id = next(e["run_id"] for e in remote.json_lines())
    assert [r["status"] for r in runs if r["id"] == remote_id] == ["failed"]
    summary = json.loads(corral_project.run("show", remote_id, "--json").stdout)
    assert summary["recap"] == remote.recap()


FATAL_HOSTS = (
    "[web]\nweb[01:12] ansible_connection=simulated\n[db]\ndb[1:6] ansible_connection=simulated\n"
)
MAX_FAIL_PLAYBOOK = """
- hosts: web
  gather_facts: false
  serial: 4
  max_fail_percentage: 30
  tasks:
    - name: one
      command: echo one
      notify: reload
    - name: fail some
      command: "false"
      when: inventory_hostname in ['web06', 'web10', 'web11']
    - name: two
      command: echo two
      run_once: true
  handlers:
    - name: reload
      command: echo reloaded
"""
FATAL_PLAYBOOK = """
- hosts: db
  gather_facts: false
  serial: 3
  any_errors_fatal: true
  tasks:
    - name: first
      command: echo first
      notify: reload db
    - name: fail db5
      command: "false"
      when: inventory_hostname == 'db5'
    - name: never on the second batch
      command: echo next
  handlers:
    - name: reload db
      command: echo reloaded db
"""


@pytest.mark.parametrize("playbook", [MAX_FAIL_PLAYBOOK, FATAL_PLAYBOOK], ids=["max_fail", "fatal"])
def test_max_fail_percentage_and_any_errors_fatal_end_the_same_as_here(
    fleet: list[Worker], redis_server: RedisServer, corral_project: CorralProject, playbook: str
) -> None:
    corral_project.write("hosts.ini", FATAL_HOSTS)
    corral_project.write("site.yml", playbook)
    argv = ("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    local = corral_project.run(*argv)
    remote = _on_celery(corral_project, redis_server, "--output", "json", shard_size=2)
    assert remote.exit_code == local.exit_code != 0, remote.output[-3000:]
    assert remote.recap() == local.recap()
    assert _shape(remote.json_lines()) == _shape(local.json_lines())
    ran = {(e["host"], e["task"]) for e in remote.json_lines() if e["event"] == "task_result"}
    if playbook == MAX_FAIL_PLAYBOOK:
        # Batch two lost one host of four (under 30%); batch three lost two: the run ended.
        assert remote.recap()["web06"]["failed"] == 1
        assert ("web05", "reload") in ran  # batch two's handlers ran on its hosts still up
        assert ("web12", "two") not in ran
    else:
        # db5 failed in the second batch under any_errors_fatal: its batch stopped there.
        assert ("db1", "never on the second batch") in ran
        assert not [h for h, t in ran if t == "never on the second batch" and h >= "db4"]
        assert ("db4", "reload db") not in ran


def test_registered_values_reach_later_tasks_and_other_plays(
    fleet: list[Worker], redis_server: RedisServer, corral_project: CorralProject
) -> None:
    corral_project.write("hosts.ini", "[sim]\nn[1:8] ansible_connection=simulated\n")
    corral_project.write(
        "site.yml",
        """
        - hosts: sim
          gather_facts: false
          tasks:
            - command: "echo {{ inventory_hostname }}-a"
              register: first
            - copy: {content: "{{ first.stdout }}\\n", dest: /tmp/first}
              register: written
        - hosts: sim
          gather_facts: false
          tasks:
            - assert:
                that:
                  - first.stdout == inventory_hostname ~ '-a'
                  - written.changed
            - command: "echo {{ hostvars['n1'].first.stdout }}"
              register: from_n1
            - debug: {msg: "{{ from_n1.stdout }}"}
        """,
    )
    result = _on_celery(corral_project, redis_server, "--output", "json", shard_size=2)
    assert result.exit_code == 0, result.output[-3000:]
    shown = [
        e["result"]["msg"]
        for e in result.json_lines()
        if e["event"] == "task_result" and e["action"] == "debug"
    ]
    assert shown == ["n1-a"] * 8


def test_no_broker_is_a_one_line_error_before_anything_runs(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    corral_project.write("hosts.ini", "[sim]\nn1 ansible_connection=simulated\n")
    corral_project.write("site.yml", "- hosts: sim\n  tasks:\n    - ping:\n")
    result = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", "--executor", "celery", env={"CORRAL_BROKER_KEY": KEY}
    )
    assert result.exit_code == 5
    lines: list[Any] = result.stderr.splitlines()
    assert lines[0] == "error: no broker URL"
    assert lines[1].startswith("hint: pass --broker URL, set CORRAL_BROKER_URL")
    assert "PLAY" not in result.stdout


@pytest.fixture(autouse=True)
def _no_broker_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_BROKER_URL", raising=False)


def test_hosts_go_to_the_queue_their_corral_queue_variable_names(
    fleet: list[Worker], redis_server: RedisServer, corral_project: CorralProject
) -> None:
    # wa serves corral only, wb serves asia and corral: asia's hosts are wb's alone.
    corral_project.write(
        "hosts.ini",
        "[tokyo]\nt[1:6] ansible_connection=simulated\n[tokyo:vars]\ncorral_queue=asia\n",
    )
    corral_project.write(
        "site.yml", "- hosts: tokyo\n  gather_facts: false\n  tasks:\n    - command: uptime\n"
    )
    before = _shards_run(fleet)
    result = _on_celery(corral_project, redis_server, shard_size=2)
    assert result.exit_code == 0, result.output[-3000:]
    after = _shards_run(fleet)
    assert after["wa@test"] == before["wa@test"]
    assert after["wb@test"] == before["wb@test"] + 3
    # A playbook's own corral_queue (play vars) and -e take precedence over the inventory.
    corral_project.write(
        "site.yml",
        "- hosts: tokyo\n  gather_facts: false\n  vars: {corral_queue: nowhere}\n"
        "  tasks:\n    - command: uptime\n",
    )
    moved = _on_celery(corral_project, redis_server, "-e", "corral_queue=corral", shard_size=6)
    assert moved.exit_code == 0, moved.output[-3000:]
    assert sum(_shards_run(fleet).values()) == sum(after.values()) + 1


def test_corral_serve_refuses_an_executor_that_is_not_installed(
    corral_project: CorralProject,
) -> None:
    result = corral_project.run("serve", "--executor", "nope", "--no-login-link")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0].startswith("error: no executor 'nope' is installed")


def test_shards_nobody_takes_are_reported_and_an_abort_ends_the_wait(
    fleet: list[Worker], redis_server: RedisServer, corral_project: CorralProject
) -> None:
    corral_project.write("hosts.ini", "[far]\nf[1:2] ansible_connection=simulated\n")
    corral_project.write(
        "site.yml", "- hosts: far\n  gather_facts: false\n  tasks:\n    - command: uptime\n"
    )
    argv = [str(Path(sys.executable).with_name("corral")), "run", "site.yml", "-i", "hosts.ini",
            "--executor", "celery", "-e", "corral_queue=nobody-serves-this"]  # fmt: skip
    env = {
        **os.environ,
        **corral_project.env,
        **_celery_env(redis_server, CORRAL_NO_WORKER_WARNING="1"),
    }
    run = subprocess.Popen(
        argv, cwd=corral_project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert run.stdout is not None
    seen = []
    try:
        for line in run.stdout:
            seen.append(line)
            if "no worker has taken the 1 shards" in line:
                break
        assert "queues: nobody-serves-this" in seen[-1], "".join(seen)
        run.send_signal(signal.SIGINT)  # the first stops new units; the second cancels
        time.sleep(0.5)
        run.send_signal(signal.SIGINT)
        rest, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    # Aborted while waiting for the shards: the run ends at once, as any aborted run.
    assert run.returncode == 99, rest
    assert "SIGINT: aborting" in rest
    assert "Traceback" not in rest

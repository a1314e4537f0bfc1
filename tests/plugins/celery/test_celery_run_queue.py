"""``corral serve --executor celery``: served runs go on the broker and workers run them.

A real redis-server, real ``corral worker`` processes and a real ``corral serve``: a run
started through the API is taken by a worker (it runs in that worker's own store, under
``$CORRAL_HOME/remote/RUN_ID``), and what it does is recorded in the server's store, read
back by ``corral show`` and the API. Routing by the playbook's and the inventory's
``corral_queue``; cancel and approvals asked on the server reach the run on the worker;
a worker killed mid-run leaves the run ``interrupted`` on the server, and ``resume``
finishes it from there.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis_server as redis_service
from celery_fleet import KEY, Worker, fleet, wait_ready, wait_until
from redis_server import RedisServer
from served import Served

redis_server = redis_service.redis_server  # the module-scoped server fixture
__all__ = ["fleet", "redis_server"]  # fixtures, taken from their modules

# Each task writes where it ran: a worker's run has its own CORRAL_HOME (remote/RUN_ID).
WHERE = '    - shell: echo "$CORRAL_HOME" >> {{ playbook_dir }}/where-{{ inventory_hostname }}\n'


def _serve(served: Served, redis: RedisServer, **more: str) -> Served:
    served.project.env.update({"CORRAL_BROKER_URL": redis.url, "CORRAL_BROKER_KEY": KEY, **more})
    return served.start("--executor", "celery", "--no-login-link")


def _runs_taken(workers: list[Worker]) -> dict[str, int]:
    taken = re.compile(r"Task corral\.run\[[0-9a-f-]+\] received")
    return {w.name: len(taken.findall(w.log.read_text(errors="replace"))) for w in workers}


def _units_done(served: Served, run_id: str) -> int:
    from corral.store import Store

    store = Store(Path(served.project.env["CORRAL_HOME"]) / "corral.db")
    try:
        row = store.conn.execute(
            "SELECT count(*) FROM units WHERE run_id = ? AND status IN ('ok', 'changed')", (run_id,)
        ).fetchone()
        return int(row[0])
    finally:
        store.close()


def _long_playbook(served: Served, step: str, count: int, queue: str = "") -> Path:
    """long.yml: a mark, ``count`` times ``step``, a mark; the file the marks go to."""
    marks = served.project.path / "marks"
    routed = f"  vars: {{corral_queue: {queue}}}\n" if queue else ""
    served.project.write(
        "long.yml",
        f"- hosts: localhost\n  gather_facts: false\n{routed}  tasks:\n"
        f"    - shell: echo first >> {marks}\n"
        + "".join(f"    - {step}\n" for _ in range(count))
        + f"    - shell: echo last >> {marks}\n",
    )
    return marks


def _started(served: Served, playbook: str) -> str:
    with served.client(served.token("run")) as api:
        response = api.post("/api/v1/runs", json={"playbook": playbook})
        assert response.status_code in (200, 201, 202), response.text
        return str(response.json()["run_id"])


def test_an_api_started_run_runs_on_a_worker_and_is_recorded_on_the_server(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    served.project.write(
        "deploy.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + WHERE
        + "    - command: echo deployed\n      register: said\n"
        "    - debug: {msg: \"{{ said.stdout }} by {{ corral_trigger.kind }}\"}\n",
    )  # fmt: skip
    before = _runs_taken(fleet)
    _serve(served, redis_server)
    run_id = _started(served, "deploy.yml")
    with served.client(served.token("read")) as api:
        run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
        units = api.get(f"/api/v1/runs/{run_id}").json()
    assert run["status"] == "succeeded", served.output()[-3000:]
    # A worker took it, and it ran there, in a store of the worker's own.
    assert sum(_runs_taken(fleet).values()) == sum(before.values()) + 1
    where = (served.project.path / "where-localhost").read_text().split()
    assert where
    assert where[-1].endswith(f"/remote/{run_id}")
    assert Path(where[-1]).parent.parent != Path(served.project.env["CORRAL_HOME"])
    # The server's store has the run as any run: show, logs and history read it.
    shown = served.project.run("show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "succeeded" in shown.output
    assert "debug" in shown.output
    logs = served.project.run("logs", run_id)
    assert logs.exit_code == 0, logs.output
    assert "deployed by api" in logs.output
    assert units["run"]["status"] == "succeeded"
    with served.client(served.token("read")) as api:
        output = api.get(f"/api/v1/runs/{run_id}/logs").text
    assert re.search(r"taken by worker w[ab]@test \(pid \d+\)", output), output[-2000:]
    assert "runs go on the broker for corral workers to run" in served.output()
    history = served.project.run("history")
    assert run_id in history.output


def test_runs_are_routed_by_the_playbooks_queue_and_by_the_inventory_group(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    # wa serves corral only, wb serves asia and corral.
    served.project.write(
        "inventory.ini",
        "localhost ansible_connection=local ansible_python_interpreter=python3\n"
        "[tokyo]\nt1 ansible_connection=simulated\nt2 ansible_connection=simulated\n"
        "[tokyo:vars]\ncorral_queue=asia\n",
    )
    served.project.write(
        "backup.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars: {corral_queue: asia}\n"
        "  tasks:\n    - command: echo backup\n",
    )
    served.project.write(
        "tokyo.yml", "- hosts: tokyo\n  gather_facts: false\n  tasks:\n    - command: uptime\n"
    )
    _serve(served, redis_server)
    wa, wb = fleet
    for playbook in ("backup.yml", "tokyo.yml"):
        before = _runs_taken(fleet)
        run_id = _started(served, playbook)
        with served.client(served.token("read")) as api:
            run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
        assert run["status"] == "succeeded", served.output()[-3000:]
        after = _runs_taken(fleet)
        assert after[wb.name] == before[wb.name] + 1, playbook
        assert after[wa.name] == before[wa.name], playbook


def test_cancel_and_approvals_asked_on_the_server_reach_the_run_on_the_worker(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    served.project.write(
        "gate.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        '    - approval: "Go on?"\n'
        "    - command: echo approved\n",
    )
    served.project.write(
        "slow.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: sleep 60\n",
    )
    _serve(served, redis_server)
    gate = _started(served, "gate.yml")
    with served.client(served.token("approve", "ann")) as api:

        def asked() -> list[dict[str, object]]:
            return [a for a in api.get("/api/v1/approvals").json() if a["run_id"] == gate]

        wait_until(lambda: bool(asked()), 60, f"run {gate}'s approval to reach the server")
        (approval,) = asked()
        assert approval["message"] == "Go on?"
        answered = api.post(f"/api/v1/approvals/{approval['id']}/approve", json={"comment": "ok"})
        assert answered.status_code == 200, answered.text
    slow = _started(served, "slow.yml")
    with served.client(served.token("run")) as api:
        run = served.wait_status(api, gate, {"succeeded", "failed", "interrupted"})
        assert run["status"] == "succeeded", served.output()[-3000:]
        served.wait_status(api, slow, {"running"})
        cancelled = served.project.run("cancel", slow, "--grace", "1")
        assert cancelled.exit_code == 0, cancelled.output
        run = served.wait_status(api, slow, {"cancelled", "failed", "interrupted", "succeeded"})
    assert run["status"] == "cancelled", served.output()[-3000:]
    logs = served.project.run("logs", gate)
    assert "approved" in logs.output, logs.output[-2000:]


def test_two_runs_on_the_same_host_take_turns_though_two_workers_are_free(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    # The host's lease is taken in the server's store, before a worker gets the run.
    for name in ("one", "two"):
        served.project.write(
            f"{name}.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
            f"    - shell: echo {name}-in >> turns; sleep 2; echo {name}-out >> turns\n",
        )
    _serve(served, redis_server)
    runs = [_started(served, "one.yml"), _started(served, "two.yml")]
    with served.client(served.token("read")) as api:
        for run_id in runs:
            run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
            assert run["status"] == "succeeded", served.output()[-3000:]
    turns = (served.project.path / "turns").read_text().split()
    assert turns in (
        ["one-in", "one-out", "two-in", "two-out"],
        ["two-in", "two-out", "one-in", "one-out"],
    )


@pytest.fixture
def lone_worker(redis_server: RedisServer, tmp_path: Path) -> Iterator[Worker]:
    worker = Worker(
        tmp_path / "lone", redis_server.url, "lone", ("lone",), {"CORRAL_SERVER_LOST_AFTER": "3"}
    )
    wait_ready(redis_server.url, [worker])
    yield worker
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.stop(signal.SIGKILL)


def test_a_worker_killed_mid_run_leaves_it_interrupted_and_resume_finishes_it(
    lone_worker: Worker, redis_server: RedisServer, served: Served, tmp_path: Path
) -> None:
    marks = _long_playbook(served, "command: sleep 6", 1, queue="lone")
    _serve(served, redis_server, CORRAL_WORKER_LOST_AFTER="5")
    run_id = _started(served, "long.yml")
    # What the server recorded survives the worker: wait until the first task is there.
    wait_until(lambda: _units_done(served, run_id) >= 1, 60, "the first task's record")
    lone_worker.stop(signal.SIGKILL)
    with served.client(served.token("run")) as api:
        run = served.wait_status(api, run_id, {"interrupted", "failed", "succeeded"})
        assert run["status"] == "interrupted", served.output()[-3000:]
        # The resume is coordinated on the server; its host work goes to the queue's
        # workers again (a new one here), as the playbook routes it.
        again = Worker(tmp_path / "again", redis_server.url, "again", ("lone",))
        try:
            wait_ready(redis_server.url, [again])
            resumed = api.post(f"/api/v1/runs/{run_id}/resume")
            assert resumed.status_code < 300, resumed.text
            run = served.wait_status(api, run_id, {"succeeded", "failed"}, timeout=120)
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                again.stop()
    assert run["status"] == "succeeded", served.output()[-3000:]
    # The finished first task did not run again; the rest ran once.
    assert marks.read_text().split() == ["first", "last"]


def test_a_run_whose_server_died_is_cancelled_on_its_worker(
    lone_worker: Worker, redis_server: RedisServer, served: Served
) -> None:
    marks = _long_playbook(served, "command: sleep 1", 15, queue="lone")
    _serve(served, redis_server)
    run_id = _started(served, "long.yml")
    wait_until(lambda: _units_done(served, run_id) >= 1, 60, "the first task's record")
    served.stop(signal.SIGKILL)
    # Nobody would record what it does: the worker winds the run down (exit 99) at the
    # next task, long before its 15 tasks are over.
    ended = re.compile(r"Task corral\.run\[[0-9a-f-]+\] succeeded in [0-9.]+s: 99")
    wait_until(lambda: bool(ended.search(lone_worker.output())), 30, "the run to be cancelled")
    assert marks.read_text().split() == ["first"]
    # The server, started again, has it interrupted: resumable here.
    restarted = served.start("--no-login-link")
    assert restarted.run_row(run_id)["status"] == "interrupted"


def test_a_run_that_stops_on_an_error_on_its_worker_has_the_error_in_its_logs(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    served.project.write(
        "broken.yml",
        '- hosts: localhost\n  gather_facts: false\n  vars_files: ["{{ site }}/missing.yml"]\n'
        "  tasks:\n    - command: echo never\n",
    )
    _serve(served, redis_server)
    run_id = _started(served, "broken.yml")
    with served.client(served.token("read")) as api:
        run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
        logs = api.get(f"/api/v1/runs/{run_id}/logs").text
    # As a local run that stops on this error once started: failed, exit 4.
    assert run["status"] == "failed", served.output()[-3000:]
    assert "undefined variable 'site'" in logs, logs[-2000:]
    assert "Traceback" not in logs


def test_a_server_started_again_follows_its_runs_on_the_workers_to_the_end(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    marks = _long_playbook(served, "command: sleep 0.5", 6)
    _serve(served, redis_server)
    run_id = _started(served, "long.yml")
    wait_until(lambda: _units_done(served, run_id) >= 1, 60, "the first task's record")
    served.stop(signal.SIGKILL)
    # Started again within the workers' patience (CORRAL_SERVER_LOST_AFTER, 30 s).
    _serve(served, redis_server)
    with served.client(served.token("read")) as api:
        run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
    assert run["status"] == "succeeded", served.output()[-3000:]
    assert "is still with the workers" in served.output()
    assert marks.read_text().split() == ["first", "last"]
    assert _units_done(served, run_id) == 8  # every task recorded, once


def test_a_run_still_on_the_broker_when_the_server_restarts_runs_once(
    redis_server: RedisServer, served: Served, tmp_path: Path
) -> None:
    marks = served.project.path / "marks"
    served.project.write(
        "later.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars: {corral_queue: later}\n"
        f"  tasks:\n    - shell: echo ran >> {marks}\n",
    )
    _serve(served, redis_server)
    run_id = _started(served, "later.yml")
    broker = redis.Redis.from_url(redis_server.url)
    wait_until(lambda: broker.llen("later") == 1, 30, "the run to be on the broker")
    served.stop(signal.SIGKILL)
    _serve(served, redis_server)
    assert served.run_row(run_id)["status"] == "queued"
    worker = Worker(tmp_path / "later", redis_server.url, "later", ("later",))
    try:
        wait_ready(redis_server.url, [worker])
        with served.client(served.token("read")) as api:
            run = served.wait_status(api, run_id, {"succeeded", "failed", "interrupted"})
        assert run["status"] == "succeeded", served.output()[-3000:]
        # Nothing else for the run waits on the broker, and the worker took it once.
        assert broker.llen("later") == 0
        time.sleep(1)  # a second copy taken meanwhile would show in the worker's log
        assert _runs_taken([worker]) == {worker.name: 1}
        assert marks.read_text().split() == ["ran"]
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.stop()


def test_an_approval_asked_before_a_server_restart_is_answered_after_it(
    fleet: list[Worker], redis_server: RedisServer, served: Served
) -> None:
    served.project.write(
        "gate.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        '    - approval: "Go on?"\n    - command: echo approved\n',
    )
    _serve(served, redis_server)
    gate = _started(served, "gate.yml")
    with served.client(served.token("approve", "ann")) as api:
        wait_until(
            lambda: any(a["run_id"] == gate for a in api.get("/api/v1/approvals").json()),
            60,
            "the approval to reach the server",
        )
    served.stop(signal.SIGKILL)
    _serve(served, redis_server)
    with served.client(served.token("approve", "bob")) as api:
        (approval,) = [a for a in api.get("/api/v1/approvals").json() if a["run_id"] == gate]
        answered = api.post(f"/api/v1/approvals/{approval['id']}/approve", json={"comment": ""})
        assert answered.status_code == 200, answered.text
        run = served.wait_status(api, gate, {"succeeded", "failed", "interrupted"})
    assert run["status"] == "succeeded", served.output()[-3000:]

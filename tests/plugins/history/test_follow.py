"""corral logs --follow and corral show on a running run, against real `corral run` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from corral.store.db import open_store

INVENTORY = "localhost ansible_connection=local\n"
PLAYBOOK = """
- name: naps
  hosts: all
  gather_facts: false
  tasks:
    - name: first nap
      shell: "sleep {{ nap }}"
    - name: second nap
      shell: "sleep {{ nap }}"
    - name: third nap
      shell: "sleep {{ nap }}; exit {{ code }}"
"""
DEADLINE = 60.0


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write("naps.yml", PLAYBOOK)
    return corral_project


def _env(project) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", **project.env}


def corral(project, *args: str) -> subprocess.Popen[str]:
    """``corral ARGS`` in its own process, as a person in another terminal would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "corral", *args],
        cwd=project.path,
        env=_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_run(project, nap: float, code: int = 0) -> subprocess.Popen[str]:
    extra = ["-e", f"nap={nap}", "-e", f"code={code}"]
    return corral(project, "run", "naps.yml", "-i", "hosts.ini", *extra)


def wait_for(project, condition, what: str):
    """Poll the store until ``condition(store)`` gives a value (bounded: DEADLINE seconds)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if (project.path.parent / "corral-home" / "corral.db").exists():
            store = open_store(_env(project))
            try:
                found = condition(store)
            finally:
                store.close()
            if found:
                return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def running_run(store):
    row = store.conn.execute("SELECT id FROM runs WHERE status = 'running'").fetchone()
    return row and row[0]


def units_done(store, run_id: str) -> int:
    return store.conn.execute("SELECT count(*) FROM units WHERE run_id = ?", (run_id,)).fetchone()[
        0
    ]


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, out, err


def test_follow_streams_a_running_run_until_its_recap(project):
    run = start_run(project, nap=1)
    run_id = wait_for(project, running_run, "the run to start")
    assert wait_for(project, lambda s: units_done(s, run_id) < 3 and "yes", "the run to be early")
    code, out, err = finish(corral(project, "logs", run_id, "--follow"))
    run_code, run_out, _ = finish(run)
    assert (code, run_code) == (0, 0), err
    for name in ("first nap", "second nap", "third nap"):
        assert f"TASK [{name}]" in out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[-2].startswith("PLAY RECAP")
    assert lines[-1].split() == run_out.strip().splitlines()[-1].split()
    assert "ok=3" in lines[-1]
    assert err == ""
    # What it printed live is what `corral logs` prints afterwards.
    after = project.run("logs", run_id)
    assert after.stdout == out


def test_follow_exits_with_the_run_exit_code_and_filters(project):
    run = start_run(project, nap=0.5, code=3)
    run_id = wait_for(project, running_run, "the run to start")
    code, out, _ = finish(corral(project, "logs", run_id, "--follow", "--json", "--task", "third*"))
    assert finish(run)[0] == 2
    assert code == 2
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events if e["event"].startswith("task")] == [
        "task_start",
        "task_result",
    ]
    assert events[-1]["event"] == "recap"
    assert events[-1]["exit_code"] == 2


def test_follow_on_an_ended_run_prints_it_all_and_exits(project):
    assert finish(start_run(project, nap=0, code=1))[0] == 2
    result = project.run("logs", "last", "--follow")
    assert result.exit_code == 2
    assert result.stdout == project.run("logs", "last").stdout
    assert "PLAY RECAP" in result.stdout


def test_show_on_a_running_run_gives_units_and_time_left(project):
    for _ in range(2):
        assert finish(start_run(project, nap=0.2))[0] == 0
    run = start_run(project, nap=1.5)
    run_id = wait_for(project, running_run, "the run to start")
    wait_for(project, lambda s: units_done(s, run_id) >= 1, "a unit to finish")
    shown = project.run("show", run_id)
    as_json = json.loads(project.run("show", run_id, "--json").stdout)
    assert finish(run)[0] == 0
    assert shown.exit_code == 0, shown.output
    shown.fnmatch_lines(["progress  running: [12]/3 units ([36]?%), * (from 2 past runs)"])
    progress = as_json["progress"]
    assert progress["units_expected"] == 3
    assert progress["past_runs"] == 2
    assert 1 <= progress["units_done"] <= 2
    assert progress["seconds_left"] is not None
    # Once it has ended, show has no progress line.
    after = project.run("show", run_id)
    assert "progress" not in after.stdout
    assert json.loads(project.run("show", run_id, "--json").stdout)["progress"] is None


def test_show_without_past_runs_says_so(project):
    run = start_run(project, nap=1)
    run_id = wait_for(project, running_run, "the run to start")
    shown = project.run("show", run_id)
    assert finish(run)[0] == 0
    shown.fnmatch_lines(["progress  running: ? units done, no past runs to estimate from"])
    progress = json.loads(project.run("show", "last", "--json").stdout)["progress"]
    assert progress is None


GATED = """
- name: gated
  hosts: all
  gather_facts: false
  tasks:
    - name: wait for the gate
      shell: "for i in $(seq 600); do [ -e gate ] && exit 0; sleep 0.1; done; exit 1"
"""


def test_ctrl_c_stops_following_and_leaves_the_run_alone(project):
    # The run waits for a file, not a clock: however slow the follower is to start,
    # it is still running when Ctrl-C comes.
    project.write("gated.yml", GATED)
    run = corral(project, "run", "gated.yml", "-i", "hosts.ini")
    run_id = wait_for(project, running_run, "the run to start")
    follower = corral(project, "logs", run_id, "--follow")
    assert follower.stdout is not None
    # The run's first lines are stored already: the follower prints them at once.
    line = follower.stdout.readline()
    while "PLAY [gated]" not in line:
        assert line, "the follower ended before printing the play"
        line = follower.stdout.readline()
    follower.send_signal(signal.SIGINT)
    code, _, err = finish(follower)
    assert code == 130
    assert err.strip() == f"stopped following run {run_id}; it goes on"
    assert run.poll() is None  # the run goes on
    (project.path / "gate").touch()
    assert finish(run)[0] == 0
    assert project.run("history", "--json").stdout.count('"succeeded"') == 1


def test_follow_ends_when_the_run_is_killed(project):
    run = start_run(project, nap=3)
    run_id = wait_for(project, running_run, "the run to start")
    follower = corral(project, "logs", run_id, "--follow")
    run.kill()
    run.wait(timeout=DEADLINE)
    code, out, err = finish(follower)
    assert code == 99
    assert "PLAY RECAP" not in out
    assert f"run {run_id} ended interrupted without a recap" in err
    assert f"corral resume {run_id}" in err


def test_follow_waits_for_a_queued_run(project):
    # A fired trigger's run waits as `queued` until a worker of corral serve takes it; the
    # row is written as the server queues one (schema v3), then cancelled as a cancel would.
    store = open_store(_env(project))
    try:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (id, playbook, status, started) VALUES (?, ?, 'queued', ?)",
                ("20261205T000000-q00001", "naps.yml", time.time()),
            )
    finally:
        store.close()
    follower = corral(project, "logs", "20261205T000000-q00001", "--follow")
    assert follower.stderr is not None
    waiting = follower.stderr.readline()
    assert waiting.strip() == (
        "run 20261205T000000-q00001 is queued; waiting for it to start (Ctrl-C stops)"
    )
    assert follower.poll() is None
    store = open_store(_env(project))
    try:
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET status = 'cancelled' WHERE status = 'queued'")
    finally:
        store.close()
    code, out, err = finish(follower)
    assert code == 99
    assert out == ""
    assert err.strip() == "run 20261205T000000-q00001 ended cancelled without a recap"

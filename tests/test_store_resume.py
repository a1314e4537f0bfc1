"""Durability and resume: kill -9 at random points, then corral resume; secrets; concurrent runs."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from store_runs import driver_command, environ, record_run, store_file

from corral.secrets import Secret

HOSTS = 20
KILL_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: t1
      shell: "echo t1 {{ inventory_hostname }} >> {{ out }}"
      register: first
    - set_fact: {token: "tok-{{ inventory_hostname }}"}
    - name: t2
      shell: >-
        sleep {{ nap }}; echo t2 {{ inventory_hostname }} rc={{ first.rc }} {{ token }} >> {{ out }}
    - name: t3
      shell: "echo t3-{{ item }} {{ inventory_hostname }} >> {{ out }}"
      loop: [a, b]
    - name: t4
      shell: "sleep {{ nap }}; echo t4 {{ inventory_hostname }} >> {{ out }}"
"""
LABELS = ("t1", "t2", "t3-a", "t3-b", "t4")


@pytest.fixture
def project(corral_project):
    return corral_project


def write_fleet(project, hosts: int, *, seed: int, out: Path) -> None:
    rng = random.Random(seed)
    lines = ["all:", f"  vars: {{ansible_connection: local, out: {out}}}", "  hosts:"]
    lines += [f"    h{i:02d}: {{nap: {rng.uniform(0.02, 0.2):.2f}}}" for i in range(hosts)]
    project.write("hosts.yml", "\n".join(lines) + "\n")


def line_keys(out: Path) -> Counter[str]:
    """``label host`` of each line the playbook appended."""
    if not out.exists():
        return Counter()
    return Counter(
        " ".join(line.split()[:2]) for line in out.read_text().splitlines() if line.strip()
    )


def finished_units(db: Path, run_id: str) -> set[str]:
    """``label host`` of every unit the store holds as finished (ok or changed)."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT task, host, item_index FROM units WHERE run_id = ? AND status IN ('ok', 'changed')",
        (run_id,),
    ).fetchall()
    conn.close()
    keys = set()
    for task, host, item_index in rows:
        if task == "t3":
            if item_index is not None:
                keys.add(f"t3-{'ab'[item_index]} {host}")
        elif task in LABELS:
            keys.add(f"{task} {host}")
    return keys


def start_driver(
    project, tmp_path: Path, playbook: str, inventory: str, **env: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*driver_command(tmp_path), playbook, inventory],
        cwd=project.path,
        env={**environ(project), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize("seed", [11, 22, 33, 44])
def test_kill_9_at_a_random_point_then_resume_completes_every_unit_once(project, tmp_path, seed):
    out = tmp_path / "out.txt"
    write_fleet(project, HOSTS, seed=seed, out=out)
    project.write("site.yml", KILL_PLAYBOOK)
    total = HOSTS * len(LABELS)
    kill_after = random.Random(seed).randint(1, total - 5)
    proc = start_driver(project, tmp_path, "site.yml", "hosts.yml", FORKS="5")
    run_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while sum(line_keys(out).values()) < kill_after:
        assert proc.poll() is None, f"the run ended before line {kill_after}: {proc.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and the commands it started, like a dead machine
    proc.wait(timeout=10)
    db = store_file(project)
    done_before = finished_units(db, run_id)
    lines_before = line_keys(out)
    assert done_before <= set(lines_before), "a unit is recorded only after it ran"

    shown = json.loads(project.run("history", "--json").stdout)
    assert shown[0]["id"] == run_id
    assert shown[0]["status"] == "interrupted", (
        "a run left running by a dead process shows as interrupted"
    )

    resumed = project.run("resume", run_id, "--output", "json")
    assert resumed.exit_code == 0, resumed.output
    lines = line_keys(out)
    expected = {f"{label} h{i:02d}" for label in LABELS for i in range(HOSTS)}
    assert set(lines) == expected, "every unit completed"
    rerun = {key for key in done_before if lines[key] != 1}
    assert not rerun, f"units finished before the kill ran again: {sorted(rerun)}"
    for line in out.read_text().splitlines():
        if line.startswith("t2 "):
            host = line.split()[1]
            assert line.endswith(f"rc=0 tok-{host}"), f"register and set_fact were restored: {line}"

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    per_unit = conn.execute(
        "SELECT count(*), count(DISTINCT unit_id) FROM units WHERE run_id = ?", (run_id,)
    ).fetchone()
    assert per_unit == (HOSTS * 5 + HOSTS * 2,) * 2, "each (task, host, item) recorded exactly once"
    status, resumes = conn.execute(
        "SELECT status, resumes FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    assert (status, resumes) == ("succeeded", 1)
    conn.close()


SECRET = "hunter2-Zq9-very-secret"
TOKEN = "tok-8Hq2-also-secret"
SECRET_PLAYBOOK = """
- hosts: all
  gather_facts: false
  params:
    db_password: {type: string, secret: true}
    release: {type: string, default: "1.0"}
  tasks:
    - name: connect
      shell: "echo connecting with {{ db_password }}"
      register: out
    - set_fact: {dsn: "postgres://app:{{ db_password }}@db/app"}
    - debug: {msg: "password is {{ db_password }}"}
    - name: call the api
      shell: "echo token {{ api_token }}"
    - name: log in
      shell: "echo 'login failed for {{ db_password }}' >&2; exit 1"
"""


def db_bytes(project) -> bytes:
    home = Path(project.env["CORRAL_HOME"])
    return b"".join(path.read_bytes() for path in home.glob("corral.db*"))


def test_a_secret_param_never_reaches_the_database_file(project):
    project.write("hosts.yml", "all:\n  hosts:\n    h1: {ansible_connection: local}\n")
    project.write("site.yml", SECRET_PLAYBOOK)
    code, run_id = record_run(
        project,
        "site.yml",
        "hosts.yml",
        params={"db_password": SECRET, "release": "2.0"},
        extra_vars={"api_token": Secret(TOKEN)},
    )
    assert code == 2
    stored = db_bytes(project)
    assert b"connecting with ********" in stored, "the run was recorded, with the secret redacted"
    assert b"token ********" in stored
    assert SECRET.encode() not in stored
    assert TOKEN.encode() not in stored
    summary = json.loads(project.run("show", run_id, "--json").stdout)
    assert summary["run"]["params"] == {"db_password": "********", "release": "2.0"}
    assert summary["run"]["extra_vars"] == {"api_token": "********"}

    missing = project.run("resume", run_id)
    assert missing.exit_code == 5
    assert "-p db_password=" in missing.stderr
    missing = project.run("resume", run_id, "-p", f"db_password={SECRET}")
    assert missing.exit_code == 5
    assert "-e api_token=" in missing.stderr
    again = project.run(
        "resume",
        run_id,
        "-p",
        f"db_password={SECRET}",
        "-e",
        f"api_token={TOKEN}",
        "--output",
        "json",
    )
    assert again.exit_code == 2, again.output
    results = [e for e in again.json_lines() if e["event"] == "task_result"]
    failure = [e for e in results if e["status"] == "failed"][-1]
    assert failure["result"]["stderr"] == "login failed for ********", "the secret was given again"
    assert SECRET not in again.output
    stored = db_bytes(project)
    assert SECRET.encode() not in stored
    assert TOKEN.encode() not in stored


def test_concurrent_runs_share_one_store_without_corruption_or_long_waits(project, tmp_path):
    procs = []
    for index in range(4):
        out = tmp_path / f"out{index}.txt"
        hosts = "\n".join(f"    c{index}h{i}: {{}}" for i in range(15))
        project.write(
            f"hosts{index}.yml", f"all:\n  vars: {{ansible_connection: local}}\n  hosts:\n{hosts}\n"
        )
        tasks = "".join(
            f'    - shell: "echo {n} {{{{ inventory_hostname }}}} >> {out}"\n' for n in range(6)
        )
        project.write(f"site{index}.yml", f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
        procs.append(start_driver(project, tmp_path, f"site{index}.yml", f"hosts{index}.yml"))
    run_ids = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        run_id, figures = stdout.splitlines()
        run_ids.append(run_id)
        timed = json.loads(figures)
        # A barrier that waited for another run's writes waits about as long as a run (or
        # the 30 s busy timeout); its own commits take a few ms. The bound grows with the
        # run's own length, which a loaded machine stretches alike.
        assert timed["longest_flush"] < max(5.0, timed["run_seconds"] / 2), (
            f"a barrier waited long for another run's writes: {timed}"
        )
    conn = sqlite3.connect(store_file(project))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for run_id in run_ids:
        (units,) = conn.execute("SELECT count(*) FROM units WHERE run_id = ?", (run_id,)).fetchone()
        assert units == 15 * 6
    conn.close()
    statuses = {r["id"]: r["status"] for r in json.loads(project.run("history", "--json").stdout)}
    assert statuses == dict.fromkeys(run_ids, "succeeded")


FLAG_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: prepare
      shell: "echo prepare {{ inventory_hostname }} >> {{ out }}"
    - name: check flag
      shell: "test -f {{ flags }}/{{ inventory_hostname }}"
    - name: finish
      shell: "echo finish {{ inventory_hostname }} >> {{ out }}"
"""


def test_resume_failed_only_reruns_just_the_failed_hosts(project, tmp_path):
    out, flags = tmp_path / "out.txt", tmp_path / "flags"
    flags.mkdir()
    (flags / "h1").touch()
    (flags / "h3").touch()
    project.write(
        "hosts.yml",
        f"all:\n  vars: {{ansible_connection: local, out: {out}, flags: {flags}}}\n"
        "  hosts:\n    h1: {}\n    h2: {}\n    h3: {}\n",
    )
    project.write("site.yml", FLAG_PLAYBOOK)
    code, run_id = record_run(project, "site.yml", "hosts.yml")
    assert code == 2
    (flags / "h2").touch()
    result = project.run("resume", run_id, "--failed-only", "--output", "json")
    assert result.exit_code == 0, result.output
    ran = {
        e["host"]
        for e in result.json_lines()
        if e["event"] == "task_result" and not e.get("resumed")
    }
    assert ran == {"h2"}
    assert sorted(out.read_text().splitlines()) == [
        "finish h1", "finish h2", "finish h3", "prepare h1", "prepare h2", "prepare h3",
    ]  # fmt: skip
    run = json.loads(project.run("show", run_id, "--json").stdout)
    assert run["run"]["status"] == "succeeded"
    assert set(run["recap"]) == {"h1", "h2", "h3"}

    again = project.run("resume", run_id)
    assert again.exit_code == 5
    assert "succeeded: there is nothing to resume" in again.stderr


def test_resume_refuses_a_run_that_is_still_running(project):
    from corral.store import open_store
    from corral.store.records import RunRecord

    store = open_store(environ(project))
    snapshot = {"site.yml": "- hosts: all\n  tasks: []\n"}
    store.begin_run(
        RunRecord(
            run_id="20261124T000000-abcdef", playbook="site.yml", playbook_hash="x",
            snapshot=snapshot,
            inventory={}, params={}, extra_vars={}, options={}, started_by="me@here", trigger="cli",
            argv=(), pid=os.getpid(), started=time.time(), playbook_file="site.yml",
        )
    )  # fmt: skip
    store.close()
    result = project.run("resume", "20261124T000000")
    assert result.exit_code == 5
    assert f"is still running (pid {os.getpid()}" in result.stderr

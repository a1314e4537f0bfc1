"""Host and resource leases: real ``corral run`` processes racing for the same hosts and locks.

The first run of each test holds its hosts with a shell step that waits for a gate file
(at most 30 s), so the test decides when it ends instead of guessing with sleeps; the
test waits for the first run's leases by polling the store with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

INVENTORY = """
web1 ansible_connection=local
web2 ansible_connection=local
"""
# Holds its hosts until the test creates the gate file (or 30 s pass).
HOLD = """
- hosts: all
  gather_facts: false
  locks: "{locks}"
  tasks:
    - shell: "for i in $(seq 300); do [ -e {gate} ] && exit 0; sleep 0.1; done; exit 1"
"""
QUICK = """
- hosts: all
  gather_facts: false
  locks: "{locks}"
  tasks:
    - shell: "echo done"
"""
DEADLINE = 60.0


@pytest.fixture
def project(corral_project: Any) -> Any:
    corral_project.write("hosts.ini", INVENTORY)
    gate = corral_project.path / "gate"
    corral_project.write("hold.yml", HOLD.replace('"{locks}"', "[db]").format(gate=gate))
    corral_project.write("hold_free.yml", HOLD.replace('"{locks}"', "[]").format(gate=gate))
    corral_project.write("quick.yml", QUICK.replace('"{locks}"', "[db]"))
    corral_project.write("quick_free.yml", QUICK.replace('"{locks}"', "[]"))
    return corral_project


def start(project: Any, *args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """``corral run ARGS`` in the background, in the project."""
    return subprocess.Popen(
        [sys.executable, "-m", "corral", "run", *args, "-i", "hosts.ini"],
        cwd=project.path,
        env={**os.environ, "NO_COLOR": "1", **project.env},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def store_rows(project: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    path = Path(project.env["CORRAL_HOME"]) / "corral.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # the first run is still creating the store
        return []
    finally:
        conn.close()


def wait_for_leases(project: Any, proc: subprocess.Popen[str], count: int) -> str:
    """The run id holding ``count`` leases and recorded, once it is; fails if the run ends."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        rows = store_rows(project, "SELECT DISTINCT run_id FROM leases")
        held = store_rows(project, "SELECT count(*) FROM leases")
        # The run takes its leases just before it records its start: wait for both.
        recorded = rows and store_rows(project, "SELECT 1 FROM runs WHERE id = ?", rows[0][0])
        if len(rows) == 1 and held and held[0][0] == count and recorded:
            return str(rows[0][0])
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first run never took its leases")


def finish(project: Any, proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Open the gate and wait for the run to end."""
    (project.path / "gate").touch()
    out, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, out, err


def run_status(project: Any, run_id: str) -> str:
    return str(store_rows(project, "SELECT status FROM runs WHERE id = ?", run_id)[0][0])


def test_a_second_run_on_a_held_host_exits_4_naming_the_holder(project: Any) -> None:
    first = start(project, "hold_free.yml", "--limit", "web1")
    try:
        holder = wait_for_leases(project, first, 1)
        second = project.run_subprocess("run", "quick_free.yml", "-i", "hosts.ini")
        assert second.exit_code == 4, second.output
        lines = second.stderr.splitlines()
        assert lines[0].startswith(f"error: host web1 is held by run {holder} (pid {first.pid} on ")
        assert lines[1] == f"hint: --wait-lock 5m to wait, or corral cancel {holder}"
        assert "Traceback" not in second.stderr
        assert "TASK" not in second.stdout  # nothing ran
        # The refused run was never recorded: only the holder is in the store.
        assert store_rows(project, "SELECT id FROM runs") == [(holder,)]
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err
    assert run_status(project, holder) == "succeeded"
    assert store_rows(project, "SELECT * FROM leases") == []


def test_wait_lock_waits_for_the_holder_then_runs(project: Any, tmp_path: Path) -> None:
    first = start(project, "hold_free.yml")
    holder = wait_for_leases(project, first, 2)
    said = tmp_path / "second.err"
    with said.open("w") as err_file:
        second = start(project, "quick_free.yml", "--wait-lock", "30s", stderr=err_file)
    try:
        deadline = time.monotonic() + DEADLINE
        while "waiting for" not in said.read_text():
            assert second.poll() is None, said.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # While it waits, the second run is not recorded and holds nothing.
        assert store_rows(project, "SELECT id FROM runs") == [(holder,)]
        assert store_rows(project, "SELECT DISTINCT run_id FROM leases") == [(holder,)]
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err
    out, _ = second.communicate(timeout=DEADLINE)
    assert second.returncode == 0, said.read_text()
    assert said.read_text().splitlines() == [f"waiting for host web1, held by run {holder}"]
    assert "ok=1" in out
    (other,) = store_rows(project, "SELECT id, started FROM runs WHERE id != ?", holder)
    (ended,) = store_rows(project, "SELECT ended FROM runs WHERE id = ?", holder)
    assert other[1] >= ended[0]  # the second run started after the first ended


def test_runs_on_different_hosts_run_at_once(project: Any) -> None:
    first = start(project, "hold_free.yml", "--limit", "web1")
    try:
        holder = wait_for_leases(project, first, 1)
        second = project.run_subprocess("run", "quick_free.yml", "-i", "hosts.ini", "-l", "web2")
        assert second.exit_code == 0, second.output
        assert first.poll() is None  # it ran while the first still held web1
        assert run_status(project, holder) == "running"
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err


def test_named_locks_collide_across_different_hosts(project: Any) -> None:
    first = start(project, "hold.yml", "--limit", "web1")
    try:
        holder = wait_for_leases(project, first, 2)
        second = project.run_subprocess("run", "quick.yml", "-i", "hosts.ini", "-l", "web2")
        assert second.exit_code == 4, second.output
        assert second.stderr.startswith(f"error: lock db is held by run {holder} ")
        # Without the lock, the same run on web2 goes ahead.
        free = project.run_subprocess("run", "quick_free.yml", "-i", "hosts.ini", "-l", "web2")
        assert free.exit_code == 0, free.output
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err


def test_corral_locks_lists_what_a_running_run_holds(project: Any) -> None:
    assert project.run_subprocess("locks").stdout.strip() == "no locks held"
    first = start(project, "hold.yml", "--limit", "web1")
    try:
        holder = wait_for_leases(project, first, 2)
        listing = project.run_subprocess("locks")
        assert listing.exit_code == 0, listing.output
        header, *rows = listing.stdout.splitlines()
        assert header.split() == ["NAME", "RUN", "PLAYBOOK", "HOLDER", "SINCE", "HEARTBEAT"]
        assert [row.split()[:3] for row in rows] == [
            ["host:web1", holder, "hold.yml"],
            ["lock:db", holder, "hold.yml"],
        ]
        assert all(f"{first.pid}@" in row for row in rows)
        as_json = json.loads(project.run_subprocess("locks", "--json").stdout)
        assert [(r["name"], r["run_id"], r["pid"]) for r in as_json] == [
            ("host:web1", holder, first.pid),
            ("lock:db", holder, first.pid),
        ]
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err
    assert project.run_subprocess("locks").stdout.strip() == "no locks held"


def test_a_killed_holders_leases_are_taken_over(project: Any) -> None:
    first = start(project, "hold.yml", "--limit", "web1")
    holder = wait_for_leases(project, first, 2)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=DEADLINE)
    second = project.run_subprocess("run", "quick.yml", "-i", "hosts.ini", "-l", "web1")
    assert second.exit_code == 0, second.output
    assert run_status(project, holder) == "interrupted"  # found dead: resumable
    assert project.run_subprocess("locks").stdout.strip() == "no locks held"
    (project.path / "gate").touch()  # lets the orphaned shell step end


def test_no_store_check_mode_and_listings(project: Any) -> None:
    first = start(project, "hold_free.yml", "--limit", "web1")
    try:
        holder = wait_for_leases(project, first, 1)
        # Check mode leases as a run does.
        check = project.run_subprocess("run", "quick_free.yml", "-i", "hosts.ini", "-C")
        assert check.exit_code == 4, check.output
        assert f"held by run {holder}" in check.stderr
        # Listings run nothing and take nothing; --no-store runs take no leases.
        for extra in (["--list-hosts"], ["--syntax-check"], ["--no-store"]):
            other = project.run_subprocess("run", "quick_free.yml", "-i", "hosts.ini", *extra)
            assert other.exit_code == 0, other.output
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err


def test_a_bad_wait_lock_is_bad_usage(project: Any) -> None:
    result = project.run_subprocess("run", "quick.yml", "-i", "hosts.ini", "--wait-lock", "soon")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == (
        "error: Invalid value for '--wait-lock': 'soon' is not a duration:"
        " give 0 (do not wait), 30s, 5m or 1h"
    )


def test_resume_takes_the_hosts_again(project: Any) -> None:
    gate = project.path / "gate"
    project.write(
        "flaky.yml",
        f"""
        - hosts: web1
          gather_facts: false
          tasks:
            - shell: "test -e {gate}"
        """,
    )
    failed = project.run_subprocess("run", "flaky.yml", "-i", "hosts.ini")
    assert failed.exit_code == 2, failed.output
    (run_id,) = store_rows(project, "SELECT id FROM runs")
    first = start(project, "hold_free.yml", "--limit", "web1")
    try:
        holder = wait_for_leases(project, first, 1)
        refused = project.run_subprocess("resume", run_id[0])
        assert refused.exit_code == 4, refused.output
        assert refused.stderr.startswith(f"error: host web1 is held by run {holder} ")
        assert run_status(project, run_id[0]) == "failed"  # given back, resumable later
    finally:
        code, _, err = finish(project, first)
    assert code == 0, err
    resumed = project.run_subprocess("resume", run_id[0])
    assert resumed.exit_code == 0, resumed.output
    assert run_status(project, run_id[0]) == "succeeded"


@pytest.mark.parametrize("age", [0.0, 120.0])
def test_a_lease_from_another_controller_expires_with_its_heartbeat(
    project: Any, age: float
) -> None:
    # A run on another machine sharing the store: its pid cannot be looked at from here,
    # so only its heartbeat tells whether it still holds web1.
    assert project.run_subprocess("locks").exit_code == 0  # creates the store
    path = Path(project.env["CORRAL_HOME"]) / "corral.db"
    conn = sqlite3.connect(path, timeout=30)
    now = time.time()
    with conn:
        conn.execute(
            "INSERT INTO runs (id, playbook, status, started, heartbeat, pid, controller)"
            " VALUES ('far-run', 'far.yml', 'running', ?, ?, 4242, 'elsewhere')",
            (now - age, now - age),
        )
        conn.execute(
            "INSERT INTO leases VALUES ('host:web1', 'far-run', 4242, 'elsewhere', ?, ?)",
            (now - age, now - age),
        )
    conn.close()
    result = project.run_subprocess("run", "quick_free.yml", "-i", "hosts.ini", "-l", "web1")
    if age:
        assert result.exit_code == 0, result.output
        assert run_status(project, "far-run") == "interrupted"
    else:
        assert result.exit_code == 4, result.output
        assert result.stderr.startswith(
            "error: host web1 is held by run far-run (pid 4242 on elsewhere)\n"
        )


@pytest.mark.parametrize(
    ("locks", "message"),
    [
        ('["db-{{ env }}"]', "play keyword 'locks': 'db-{{ env }}' is a template"),
        ("db", "play keyword 'locks' must be a list, got a string ('db')"),
        ('[""]', "play keyword 'locks'"),
    ],
)
def test_locks_must_be_a_list_of_plain_names(project: Any, locks: str, message: str) -> None:
    project.write("bad.yml", QUICK.replace('"{locks}"', locks))
    result = project.run_subprocess("run", "bad.yml", "-i", "hosts.ini")
    assert result.exit_code == 4, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: bad.yml:3:"), first
    assert message in first, first
    assert "Traceback" not in result.stderr
    assert store_rows(project, "SELECT * FROM leases") == []

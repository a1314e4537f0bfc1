"""Two ``corral resume RUN`` at once: exactly one runs, the other names the holder (issue 14.5).

Each resume is a real subprocess of the installed ``corral``. The resumed tasks wait for
a release file, so both processes overlap for as long as the test wants: the file is
created only once one of them has exited (the loser) or both have started running units
(the bug). Every unit appends a line to a file, so a unit that ran twice shows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

HOSTS = 4
PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: first
      shell: "echo first {{ inventory_hostname }} >> {{ out }}"
    - name: gate
      shell: "test -f {{ gate }}"
    - name: wait
      shell: >-
        echo wait {{ inventory_hostname }} >> {{ waits }};
        for i in $(seq 2400); do test -f {{ release }} && break; sleep 0.05; done;
        echo wait {{ inventory_hostname }} >> {{ out }}
    - name: after
      shell: "echo after-{{ item }} {{ inventory_hostname }} >> {{ out }}"
      loop: [a, b]
"""
LABELS = ("first", "wait", "after-a", "after-b")


def corral_executable() -> list[str]:
    executable = Path(sys.executable).with_name("corral")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "corral"]


def environ(project) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **project.env}
    env.pop("CORRAL_DEBUG", None)
    return env


def start(project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*corral_executable(), *args],
        cwd=project.path,
        env=environ(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def lines(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(line.strip() for line in path.read_text().splitlines() if line.strip())


class Round:
    """One failed run (its gate task failed on every host), ready to be resumed."""

    def __init__(self, project, tmp_path: Path, index: int) -> None:
        base = tmp_path / f"round{index}"
        base.mkdir()
        self.out, self.waits = base / "out.txt", base / "waits.txt"
        self.gate, self.release = base / "gate", base / "release"
        hosts = "".join(f"    r{index}h{i}: {{}}\n" for i in range(HOSTS))
        project.write(
            f"hosts{index}.yml",
            "all:\n  vars:\n    ansible_connection: local\n"
            f"    out: {self.out}\n    waits: {self.waits}\n"
            f"    gate: {self.gate}\n    release: {self.release}\n"
            f"  hosts:\n{hosts}",
        )
        project.write("site.yml", PLAYBOOK)
        failed = project.run("run", "site.yml", "-i", f"hosts{index}.yml", "--output", "json")
        assert failed.exit_code == 2, failed.output
        self.run_id = failed.json_lines()[0]["run_id"]
        self.hosts = [f"r{index}h{i}" for i in range(HOSTS)]
        self.gate.touch()

    def expected(self) -> Counter[str]:
        return Counter(f"{label} {host}" for label in LABELS for host in self.hosts)


def wait_for_overlap(procs: list[subprocess.Popen[str]], waits: Path, timeout: float) -> None:
    """Until one process has exited, or more units started waiting than there are hosts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            return
        if sum(lines(waits).values()) > HOSTS:
            return
        time.sleep(0.02)


@pytest.mark.timeout(900)
def test_two_resumes_raced_ten_times_run_each_unit_once(corral_project, tmp_path):
    project = corral_project
    here = socket.gethostname()
    for index in range(10):
        round_ = Round(project, tmp_path, index)
        procs = [start(project, "resume", round_.run_id) for _ in range(2)]
        try:
            wait_for_overlap(procs, round_.waits, timeout=120)
        finally:
            round_.release.touch()
        results = [(proc, *proc.communicate(timeout=120)) for proc in procs]
        codes = sorted(proc.returncode for proc, _, _ in results)
        assert codes == [0, 5], f"round {index}: exactly one resume succeeds: {results}"
        [(winner, _, _)] = [r for r in results if r[0].returncode == 0]
        [(_, _, loser_err)] = [r for r in results if r[0].returncode == 5]
        error, hint = loser_err.strip().splitlines()
        assert error == (
            f"error: run {round_.run_id} is still running (pid {winner.pid} on {here})"
        ), loser_err
        assert hint.startswith("hint: "), loser_err
        assert lines(round_.out) == round_.expected(), f"round {index}: every unit ran once"
        assert sum(lines(round_.waits).values()) == HOSTS, f"round {index}: one resume ran"


def test_a_resume_killed_with_kill_9_can_be_resumed_again(corral_project, tmp_path):
    project = corral_project
    round_ = Round(project, tmp_path, 0)
    first = start(project, "resume", round_.run_id)
    deadline = time.monotonic() + 120
    while sum(lines(round_.waits).values()) < HOSTS:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the resumed units started"
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)  # the resume, like a dead machine
    first.wait(timeout=30)
    round_.release.touch()

    again = project.run_subprocess("resume", round_.run_id, timeout=300)
    assert again.exit_code == 0, again.output
    # The units that were waiting when the process died run again (the shells of the
    # killed run may finish theirs too); every other unit ran exactly once.
    ran = lines(round_.out)
    assert {key for key in ran if not key.startswith("wait ")} == {
        key for key in round_.expected() if not key.startswith("wait ")
    }
    assert all(count == 1 for key, count in ran.items() if not key.startswith("wait ")), ran
    assert all(ran[f"wait {host}"] >= 1 for host in round_.hosts), ran
    status = project.run("show", round_.run_id, "--json").stdout
    assert '"succeeded"' in status


def test_a_resume_that_fails_before_running_releases_the_run(corral_project, tmp_path):
    project = corral_project
    round_ = Round(project, tmp_path, 0)
    round_.release.touch()
    # In-process: the claiming process (this one) stays alive, so a claim left behind
    # would make the next resume see the run as still running.
    bad = project.run("resume", round_.run_id, "--output", "no-such-output")
    assert bad.exit_code == 5, bad.output
    assert "unknown output" in bad.stderr
    good = project.run("resume", round_.run_id)
    assert good.exit_code == 0, good.output
    assert lines(round_.out) == round_.expected()


def test_a_claim_is_exclusive_and_confirmed_by_its_holder_only(corral_project, tmp_path):
    from corral.errors import UsageError
    from corral.store.db import open_store
    from corral.store.lease import claim_run, release_run

    round_ = Round(corral_project, tmp_path, 0)
    store = open_store(environ(corral_project))
    try:
        here = socket.gethostname()
        first = claim_run(store, round_.run_id, pid=os.getpid())
        with pytest.raises(UsageError, match=rf"still running \(pid {os.getpid()} on {here}\)"):
            claim_run(store, round_.run_id, pid=os.getpid() + 1)
        assert release_run(store, first)
        assert store.run_row(round_.run_id)["status"] == "failed", "released as it was"
        other = claim_run(store, round_.run_id, pid=1)  # pid 1 is alive: a live holder
        with pytest.raises(UsageError, match=r"still running \(pid 1 "):
            store.resume_run(round_.run_id, pid=os.getpid(), claimed=True)
        assert not release_run(store, first), "a claim taken over is not released by the loser"
        store.resume_run(round_.run_id, pid=1, claimed=True)
        assert not release_run(store, other), "a run that started is not released"
        assert store.run_row(round_.run_id)["resumes"] == 1
    finally:
        store.close()

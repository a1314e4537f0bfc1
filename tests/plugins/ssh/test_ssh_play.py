"""Plays over SSH: ``remote_user`` and its older name ``user``; stopping a run.

One sshd host on loopback (see ``tests/sshd.py``); the inventory leaves out
``ansible_user``, so the play's user is the one that logs in.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd import TEST_USER, SshdFleet, module_fleet

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1) as fleet:
        yield fleet


def userless_inventory(fleet: SshdFleet, **extra: str) -> str:
    """The fleet's inventory without ``ansible_user`` (unless ``extra`` sets one)."""
    (host,) = fleet.hosts
    variables = {k: v for k, v in fleet.host_vars(host).items() if k != "ansible_user"}
    variables.update(corral_known_hosts=str(fleet.root / "known_hosts"), **extra)
    return f"{host.name} " + " ".join(f"{k}={v}" for k, v in variables.items()) + "\n"


WHOAMI = """
- hosts: all
  {keyword}: {user}
  tasks:
    - command: id -un
      register: who
    - debug: {{msg: "{{{{ who.stdout }}}}"}}
"""


def whoami(project: CorralProject, keyword: str, user: str) -> tuple[int, list[str], str]:
    project.write("site.yml", WHOAMI.format(keyword=keyword, user=user))
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    messages = [
        e["result"]["msg"]
        for e in result.json_lines()
        if e["event"] == "task_result" and e["action"] == "debug"
    ]
    return result.exit_code, messages, result.output


@pytest.mark.parametrize("keyword", ["remote_user", "user"])
def test_the_play_user_logs_in(
    fleet: SshdFleet, corral_project: CorralProject, keyword: str
) -> None:
    corral_project.write("hosts.ini", userless_inventory(fleet))
    code, messages, output = whoami(corral_project, keyword, TEST_USER)
    assert code == 0, output
    assert messages == [TEST_USER]


def test_ansible_user_of_the_host_wins_over_the_play_user(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    corral_project.write("hosts.ini", userless_inventory(fleet, ansible_user=TEST_USER))
    code, messages, output = whoami(corral_project, "user", "nobody-at-all")
    assert code == 0, output
    assert messages == [TEST_USER]


def test_the_play_user_wins_over_dash_u_and_dash_u_over_nothing(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    # Ansible's order: -u (and ansible.cfg) < the play's remote_user < ansible_user.
    corral_project.write("hosts.ini", userless_inventory(fleet))
    corral_project.write("site.yml", WHOAMI.format(keyword="remote_user", user=TEST_USER))
    argv = ("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    result = corral_project.run(*argv, "-u", "nobody-at-all")
    assert result.exit_code == 0, result.output
    corral_project.write("site.yml", WHOAMI.replace("  {keyword}: {user}\n", "").format())
    assert corral_project.run(*argv, "-u", TEST_USER).exit_code == 0
    refused = corral_project.run(*argv, "-u", "nobody-at-all")
    assert refused.exit_code == 3, refused.output


def test_a_wrong_play_user_is_used_and_fails_to_log_in(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    corral_project.write("hosts.ini", userless_inventory(fleet))
    code, _, output = whoami(corral_project, "user", "nobody-at-all")
    assert code == 3, output
    assert "nobody-at-all" in output


def test_remote_user_and_user_together_are_refused(corral_project: CorralProject) -> None:
    corral_project.write("site.yml", "- hosts: all\n  user: a\n  remote_user: b\n  tasks: []\n")
    result = corral_project.run("check", "site.yml")
    assert result.exit_code == 4
    assert "site.yml:1:3: play sets both 'remote_user' and 'user'" in result.stderr


def remote_processes(marker: str) -> list[str]:
    """Command lines of processes containing ``marker`` (sshd's children run here too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in line:
                found.append(line)
    return found


def test_sigterm_kills_remote_commands_still_running_after_the_grace_period(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    scratch = fleet.scratch("sigterm")
    corral_project.write("hosts.ini", userless_inventory(fleet, ansible_user=TEST_USER))
    corral_project.write(
        "site.yml",
        f"""
        - hosts: all
          tasks:
            - name: slow
              shell: "touch {scratch}/begin; sleep 30.75; touch {scratch}/end"
        """,
    )
    corral = str(Path(sys.executable).with_name("corral"))
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini", "--output", "json", "--grace", "1"],
        cwd=corral_project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):
            if (scratch / "begin").exists():
                break
            time.sleep(0.05)
        assert (scratch / "begin").exists(), "the remote command never started"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 99, err
    assert not (scratch / "end").exists()
    for _ in range(100):  # sshd delivers the signal on its own time
        if not remote_processes("sleep 30.75"):
            break
        time.sleep(0.05)
    assert remote_processes("sleep 30.75") == [], "the remote process group was killed"
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (slow,) = [e for e in events if e["event"] == "task_result" and e["task"] == "slow"]
    assert slow["status"] == "interrupted", slow

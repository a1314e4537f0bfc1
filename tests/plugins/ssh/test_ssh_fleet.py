"""Playbooks over SSH through the public CLI: a 20-host fleet of real sshd processes.

Also ``corral ping``, the ``ssh`` and ``fetch`` steps, a host whose sshd dies mid-run,
a become password that must never show, the same recap over SSH as locally for
playbooks of the differential corpus, and the ``simulated`` connection at scale.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sshd import SshdFleet, SshdHost, module_fleet

from corral.testing import CorralProject

COMPAT = Path(__file__).resolve().parents[2] / "compat"
FLEET_SIZE = 20


def _more_hosts(fleet: SshdFleet) -> None:
    fleet.add_host("doomed")
    fleet.add_host("solo")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, FLEET_SIZE, prepare=_more_hosts) as fleet:
        yield fleet


def inventory(fleet: SshdFleet, hosts: list[SshdHost], **extra: str) -> str:
    return fleet.inventory_ini(hosts, corral_known_hosts=str(fleet.root / "known_hosts"), **extra)


def numbered(fleet: SshdFleet) -> list[SshdHost]:
    return [h for h in fleet.hosts if h.name.startswith("h")]


def statuses(events: list[dict[str, Any]], task: str) -> dict[str, str]:
    return {
        e["host"]: e["status"]
        for e in events
        if e.get("event") == "task_result" and e["task"] == task
    }


FLEET_PLAYBOOK = """
- hosts: fleet
  gather_facts: false
  tasks:
    - name: directory
      file: {path: "{{ base }}/{{ inventory_hostname }}", state: directory}
    - name: upload
      copy: {src: payload.txt, dest: "{{ base }}/{{ inventory_hostname }}/payload.txt"}
    - name: uname
      command: uname -a
      register: uname
    - name: write with a shell
      shell: "echo {{ inventory_hostname }} > {{ base }}/{{ inventory_hostname }}/shell.txt"
    - name: render a template
      template:
        src: app.conf.j2
        dest: "{{ base }}/{{ inventory_hostname }}/app.conf"
        mode: "0640"
    - name: one line of output
      assert: {that: ["uname.stdout_lines | length == 1"]}
"""


def test_a_playbook_across_20_hosts_and_copy_is_idempotent(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    base = fleet.scratch("fleet-run")
    corral_project.write("hosts.ini", inventory(fleet, numbered(fleet), base=str(base)))
    corral_project.write("site.yml", FLEET_PLAYBOOK)
    corral_project.write("files/payload.txt", "x" * 1024)
    corral_project.write("templates/app.conf.j2", "name = {{ inventory_hostname }}\n")
    first = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert first.exit_code == 0, first.output
    recap = first.recap()
    assert len(recap) == FLEET_SIZE
    assert all(counts["ok"] == 6 and counts["changed"] == 5 for counts in recap.values()), recap
    for host in numbered(fleet):
        assert (base / host.name / "payload.txt").read_text() == "x" * 1024
        assert (base / host.name / "app.conf").read_text() == f"name = {host.name}\n"
        assert (base / host.name / "app.conf").stat().st_mode & 0o777 == 0o640
        assert (base / host.name / "shell.txt").read_text() == f"{host.name}\n"
    second = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert second.exit_code == 0, second.output
    assert set(statuses(second.json_lines(), "upload").values()) == {"ok"}  # changed: false
    assert set(statuses(second.json_lines(), "directory").values()) == {"ok"}
    assert set(statuses(second.json_lines(), "render a template").values()) == {"ok"}
    second.assert_recap(changed=2 * FLEET_SIZE)


def test_a_host_whose_sshd_dies_mid_run_is_unreachable_and_the_rest_go_on(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    doomed = fleet["doomed"]
    hosts = [doomed, *numbered(fleet)[:3]]
    corral_project.write("hosts.ini", inventory(fleet, hosts))
    corral_project.write(
        "site.yml",
        """
        - hosts: fleet
          gather_facts: false
          tasks:
            - command: sleep 2
            - command: "true"
        """,
    )
    killer = threading.Timer(0.8, doomed.kill)
    killer.start()
    started = time.monotonic()
    try:
        result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    finally:
        killer.join()
        fleet.restart(doomed)
    # Not held up by the dead host: a lost connection left unnoticed would hang the run (the
    # connection tests check that the loss is seen at once, before any keepalive).
    assert time.monotonic() - started < 30
    assert result.exit_code == 3, result.output
    recap = result.recap()
    assert recap["doomed"]["unreachable"] == 1
    for host in hosts[1:]:
        assert recap[host.name]["ok"] == 2
        assert recap[host.name]["unreachable"] == 0
    failure = next(
        e
        for e in result.json_lines()
        if e.get("host") == "doomed" and e.get("status") == "unreachable"
    )
    assert "connection to doomed lost" in failure["result"]["msg"]


def test_unreachable_hosts_say_why_and_ignore_unreachable_carries_on(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    ghost = SshdHost("ghost", fleet.next_address(), 1, fleet.root, "")
    corral_project.write("hosts.ini", inventory(fleet, [ghost, fleet["solo"]]))
    corral_project.write(
        "site.yml",
        """
        - hosts: fleet
          gather_facts: false
          tasks:
            - command: "true"
              ignore_unreachable: true
            - command: "true"
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 3, result.output
    result.fnmatch_lines(["*ghost*UNREACHABLE*connection refused*"])
    assert result.recap()["solo"]["ok"] == 2


def test_a_become_password_never_shows(fleet: SshdFleet, corral_project: CorralProject) -> None:
    corral_project.write("hosts.ini", inventory(fleet, [fleet["solo"]]))
    corral_project.write(
        "site.yml",
        """
        - hosts: fleet
          gather_facts: false
          params:
            become_pw: {type: string, secret: true}
            wrong_pw: {type: string, secret: true}
          vars:
            ansible_become_password: "{{ become_pw }}"
          tasks:
            - command: id -un
              become: true
              become_user: nobody
              register: who
            - debug: {var: who.stdout}
            - command: "true"
              become: true
              become_user: nobody
              vars: {ansible_become_password: "{{ wrong_pw }}"}
              ignore_errors: true
        """,
    )
    outputs = []
    for mode in ("console", "json"):
        result = corral_project.run(
            "run", "site.yml", "-i", "hosts.ini", "-vvv", "--output", mode,
            "-p", f"become_pw={fleet.password}", "-p", "wrong_pw=not-the-password",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert '"who.stdout": "nobody"' in outputs[0]
    assert "sudo did not accept the become password" in outputs[1]
    for text in outputs:
        assert fleet.password not in text
        assert "not-the-password" not in text
    home = Path(corral_project.env["CORRAL_HOME"])
    stored = [path for path in home.rglob("*") if path.is_file()]
    assert stored, "the run store wrote nothing"
    for path in stored:
        assert fleet.password.encode() not in path.read_bytes(), f"the password is in {path}"
        assert b"not-the-password" not in path.read_bytes(), f"the password is in {path}"


@pytest.mark.parametrize(
    "playbook", ["30_shell_command", "31_copy_file_stat", "12_block_rescue_always"]
)
def test_the_same_recap_over_ssh_as_locally(
    fleet: SshdFleet, corral_project: CorralProject, playbook: str
) -> None:
    workdir = fleet.scratch(f"compat-{playbook}")
    solo = fleet["solo"]
    over_ssh = corral_project.write(
        "ssh.ini",
        f"node1 {' '.join(f'{k}={v}' for k, v in fleet.host_vars(solo).items())} "
        f"corral_known_hosts={fleet.root / 'known_hosts'}\n",
    )
    seen = []
    for inv in (COMPAT / "one.ini", over_ssh):
        for child in workdir.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        path = COMPAT / "playbooks" / f"{playbook}.yml"
        result = corral_project.run(
            "run", str(path), "-i", str(inv), "-e", f"workdir={workdir}", "--output", "json"
        )
        debug = [
            e["result"].get("msg")
            for e in result.json_lines()
            if e.get("action") == "debug" and "result" in e
        ]
        seen.append((result.exit_code, result.recap(), debug))
    assert seen[0][1]["node1"]["ok"] > 0, seen[0]
    assert seen[0][2], seen[0]
    assert seen[0] == seen[1]


def test_ping_shows_each_host_at_a_glance(fleet: SshdFleet, corral_project: CorralProject) -> None:
    ghost = SshdHost("ghost", fleet.next_address(), 1, fleet.root, "")
    corral_project.write("hosts.ini", inventory(fleet, [*numbered(fleet), ghost]))
    result = corral_project.run("ping", "-i", "hosts.ini")
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["HOST", "STATUS", "CONNECT", "LATENCY", "SERVER", "/", "REASON"]
    for host in numbered(fleet):
        row = next(line for line in lines if line.startswith(host.name + " "))
        assert " ok " in row
        assert "OpenSSH_" in row
        assert " ms " in row
    assert any(
        line.startswith("ghost ") and "unreachable" in line and "connection refused" in line
        for line in lines
    )
    assert f"{FLEET_SIZE + 1} hosts: {FLEET_SIZE} ok, 1 unreachable" in result.stdout
    one = corral_project.run("ping", "h01", "-i", "hosts.ini", "--json")
    assert one.exit_code == 0
    (record,) = [json.loads(line) for line in one.stdout.splitlines()]
    assert record["host"] == "h01"
    assert record["status"] == "ok"
    assert record["server"].startswith("SSH-2.0-")


def test_the_ssh_step_reaches_a_machine_outside_the_inventory(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    box = fleet["solo"]
    backup = fleet.scratch("backup-box")
    corral_project.write("files/dump.sql", "select 1;\n")
    reach = (
        f"host: {box.address}, port: {box.port}, user: {fleet.user}, "
        f"private_key_file: {fleet.client_key}"
    )
    back = corral_project.path / "back"
    corral_project.write(
        "site.yml",
        f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: run there
              ssh: {{{reach}, command: "hostname && id -un"}}
              register: there
            - assert: {{that: ["there.stdout_lines[1] == '{fleet.user}'"]}}
            - name: send
              ssh: {{{reach}, put: {{src: dump.sql, dest: {backup}/dump.sql, mode: "0600"}}}}
            - name: bring back
              ssh: {{{reach}, get: {{src: {backup}/dump.sql, dest: {back}/}}}}
        """,
    )
    corral_project.write(
        "hosts.ini",
        f"localhost ansible_connection=local corral_known_hosts={fleet.root / 'known_hosts'}\n",
    )
    first = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert first.exit_code == 0, first.output
    assert (backup / "dump.sql").read_text() == "select 1;\n"
    assert (backup / "dump.sql").stat().st_mode & 0o777 == 0o600
    assert (back / "dump.sql").read_text() == "select 1;\n"
    second = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert statuses(second.json_lines(), "send") == {"localhost": "ok"}
    assert statuses(second.json_lines(), "bring back") == {"localhost": "ok"}


def test_an_unreachable_ssh_step_target_fails_the_task_not_the_host(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    corral_project.write(
        "site.yml",
        f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: nobody home
              ssh: {{host: {fleet.next_address()}, port: 1, command: "true"}}
              ignore_errors: true
            - debug: {{msg: still here}}
        """,
    )
    result = corral_project.run("run", "site.yml", "--output", "json")
    assert result.exit_code == 0, result.output
    failed = next(
        e for e in result.json_lines() if e.get("task") == "nobody home" and "result" in e
    )
    assert failed["status"] == "ignored"
    assert "connection refused" in failed["result"]["msg"]
    result.assert_recap("localhost", ok=2, ignored=1, unreachable=0)


def test_fetch_brings_files_home_one_directory_per_host(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    hosts = numbered(fleet)[:3]
    corral_project.write("hosts.ini", inventory(fleet, hosts))
    corral_project.write(
        "site.yml",
        """
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: fetch
              fetch: {src: /etc/hostname, dest: fetched}
            - name: fetch flat
              fetch: {src: /etc/hostname, dest: "flat/{{ inventory_hostname }}.txt", flat: true}
            - name: missing
              fetch: {src: /no/such/file, dest: fetched, fail_on_missing: false}
        """,
    )
    first = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert first.exit_code == 0, first.output
    expected = Path("/etc/hostname").read_text()
    for host in hosts:
        assert (
            corral_project.path / "fetched" / host.name / "etc" / "hostname"
        ).read_text() == expected
        assert (corral_project.path / "flat" / f"{host.name}.txt").read_text() == expected
    assert set(statuses(first.json_lines(), "fetch").values()) == {"changed"}
    second = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert set(statuses(second.json_lines(), "fetch").values()) == {"ok"}


def test_simulated_hosts_run_through_the_engine_at_scale(corral_project: CorralProject) -> None:
    corral_project.write(
        "hosts.ini",
        "[sim]\nnode[0000:1999]\n\n[sim:vars]\nansible_connection=simulated\ncorral_simulated_rtt=0.002\n"
        "\n[down]\ngone ansible_connection=simulated corral_simulated_unreachable=true\n",
    )
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - command: uname -a
            - copy: {content: "v1\\n", dest: /tmp/app.conf}
            - copy: {content: "v1\\n", dest: /tmp/app.conf}
        """,
    )
    # How long 10,000 such hosts take is measured by bench/bench_ssh.py --simulated.
    result = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", "--forks", "500", "--output", "json"
    )
    assert result.exit_code == 3
    recap = result.recap()
    assert recap.pop("gone")["unreachable"] == 1
    assert len(recap) == 2000
    assert all(c["ok"] == 3 and c["changed"] == 2 for c in recap.values())

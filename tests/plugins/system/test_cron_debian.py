"""The cron step on real Debian hosts (containers, over SSH): crontab(1) and /etc/cron.d.

The differential test runs the same playbook with ansible-playbook on a second host of
the same image and compares the resulting crontabs byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from debian_hosts import DebianFleet, FleetFactory
from debrun import ansible, corral, statuses

from corral.testing import CorralProject

SETUP = """
- hosts: {hosts}
  gather_facts: false
  become: true
  tasks:
    - name: a user's job
      cron: name=backup minute=30 hour=2 job="/usr/local/bin/backup --all" user=deploy
    - name: a special time
      cron: name=warm special_time=reboot job=/usr/local/bin/warm user=deploy
    - name: a variable first
      cron: name=PATH env=yes job=/usr/local/bin:/usr/bin user=deploy
    - name: another after it
      cron: name=MAILTO env=yes job=ops@example.org insertafter=PATH user=deploy
    - name: a disabled job
      cron: name=old weekday=1 job=/bin/old disabled=yes user=deploy
    - name: root's own crontab
      cron: name=rotate minute=*/5 job="/usr/sbin/logrotate /etc/logrotate.conf"
    - name: a cron.d file
      cron:
        name: sync
        cron_file: corral-sync
        user: www-data
        minute: "0"
        job: /usr/bin/true
"""
CHANGE = """
- hosts: {hosts}
  gather_facts: false
  become: true
  tasks:
    - name: moved
      cron: name=backup minute=45 hour=3 job="/usr/local/bin/backup --all" user=deploy
    - name: gone
      cron: name=warm state=absent user=deploy
    - name: variable gone
      cron: name=MAILTO env=yes state=absent user=deploy
    - name: the only job of the file gone
      cron: name=sync cron_file=corral-sync state=absent
"""


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(2, prefix="cron")


def crontabs(fleet: DebianFleet, host: str) -> dict[str, str]:
    def read(argv: list[str]) -> str:
        return fleet.exec(host, argv).stdout

    return {
        "deploy": read(["crontab", "-l", "-u", "deploy"]),
        "root": read(["crontab", "-l", "-u", "root"]),
        "cron.d": read(["sh", "-c", "cat /etc/cron.d/corral-sync 2>/dev/null || echo MISSING"]),
    }


def test_cron_entries_idempotent_and_as_ansible_writes_them(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    mine, theirs = fleet.hosts[0].name, fleet.hosts[1].name
    first = corral(corral_project, fleet.inventory, SETUP.format(hosts=mine))
    assert statuses(first) == ["changed"] * 7, first
    assert statuses(corral(corral_project, fleet.inventory, SETUP.format(hosts=mine))) == ["ok"] * 7
    ansible(tmp_path / "ansible", fleet.inventory, SETUP.format(hosts=theirs))
    got = crontabs(fleet, mine)
    assert got == crontabs(fleet, theirs)
    assert got["deploy"] == (
        'PATH="/usr/local/bin:/usr/bin"\n'
        'MAILTO="ops@example.org"\n'
        "#Ansible: backup\n"
        "30 2 * * * /usr/local/bin/backup --all\n"
        "#Ansible: warm\n"
        "@reboot /usr/local/bin/warm\n"
        "#Ansible: old\n"
        "#* * * * 1 /bin/old\n"
    )
    assert got["cron.d"] == "#Ansible: sync\n0 * * * * www-data /usr/bin/true\n"

    # Changes, checked first: nothing moves in check mode.
    checked = corral(corral_project, fleet.inventory, CHANGE.format(hosts=mine), "--check")
    assert statuses(checked) == ["changed"] * 4
    assert crontabs(fleet, mine) == got
    changed = corral(corral_project, fleet.inventory, CHANGE.format(hosts=mine))
    assert statuses(changed) == ["changed"] * 4
    assert (
        statuses(corral(corral_project, fleet.inventory, CHANGE.format(hosts=mine))) == ["ok"] * 4
    )
    ansible(tmp_path / "ansible", fleet.inventory, CHANGE.format(hosts=theirs))
    after = crontabs(fleet, mine)
    assert after == crontabs(fleet, theirs)
    assert after["cron.d"] == "MISSING\n"
    assert "45 3 * * * /usr/local/bin/backup --all" in after["deploy"]
    assert "warm" not in after["deploy"]


def test_corral_manages_entries_ansible_wrote(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    host = fleet.hosts[1].name
    play = """
- hosts: {host}
  gather_facts: false
  become: true
  tasks:
    - cron: name=report hour=6 minute=0 job=/usr/bin/report user=deploy
"""
    ansible(tmp_path / "ansible", fleet.inventory, play.format(host=host))
    assert statuses(corral(corral_project, fleet.inventory, play.format(host=host))) == ["ok"]
    moved = play.replace("hour=6", "hour=7")
    out = corral(corral_project, fleet.inventory, moved.format(host=host), "--diff")
    assert out[0]["status"] == "changed"
    diff = out[0]["result"]["diff"]
    assert diff["before_header"] == 'crontab for user "deploy"'
    assert "0 6 * * * /usr/bin/report" in diff["before"]
    assert "0 7 * * * /usr/bin/report" in diff["after"]
    assert out[0]["result"]["jobs"].count("report") == 1


def test_bad_cron_arguments_fail_with_one_line(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0].name
    cases: list[tuple[str, Callable[[str], bool]]] = [
        ("name=x special_time=daily hour=1 job=/bin/true", lambda m: "special_time" in m),
        ("name=x cron_file=f job=/bin/true", lambda m: "user=" in m),
        ("name=x", lambda m: "'job'" in m),
        ("name=X env=yes job=1 insertafter=NOPE", lambda m: "NOPE" in m),
    ]
    for args, expected in cases:
        play = f"- hosts: {host}\n  gather_facts: false\n  tasks:\n    - cron: {args}\n"
        out = corral(corral_project, fleet.inventory, play)
        assert out[0]["status"] == "failed"
        assert expected(out[0]["result"]["msg"]), out[0]["result"]["msg"]

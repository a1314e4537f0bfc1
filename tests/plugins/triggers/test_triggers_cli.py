"""``triggers:`` on plays, as ``corral check`` and ``corral triggers`` show them, and bad ones."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from corral.testing import CorralProject

BACKUP = """\
- name: Nightly backup
  hosts: localhost
  gather_facts: false
  triggers:
    - cron: {schedule: "30 2 * * 1-5", timezone: Europe/Berlin, overlap: skip}
    - cron: {schedule: "@hourly"}
  tasks:
    - debug: {msg: backing up}
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    corral_project.write("playbooks/backup.yml", BACKUP)
    corral_project.write("site.yml", "- hosts: localhost\n  tasks:\n    - debug: {msg: hi}\n")
    # Not playbooks: an inventory in YAML and a task file.
    corral_project.write("hosts.yml", "all:\n  hosts:\n    localhost: {}\n")
    corral_project.write("playbooks/common.yml", "- debug: {msg: included}\n")
    return corral_project


def test_check_shows_each_trigger_and_its_next_fire_in_its_own_zone(project: CorralProject) -> None:
    result = project.run("check", "playbooks/backup.yml", "-i", "inventory.ini")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ok: playbooks/backup.yml is valid (1 play, 1 task)"
    berlin = lines[1]
    assert berlin.startswith(
        "trigger: cron (schedule=30 2 * * 1-5, timezone=Europe/Berlin, overlap=skip) "
        "on play 'Nightly backup': next "
    )
    shown = berlin.rsplit("next ", 1)[1]
    assert shown.endswith(("CET", "CEST"))
    when = datetime.strptime(shown[:16], "%Y-%m-%d %H:%M")
    assert (when.hour, when.minute) == (2, 30)
    assert when.weekday() < 5  # 1-5 is Monday to Friday
    assert lines[2].endswith(" UTC")
    assert ":00 " in lines[2]


def test_triggers_lists_the_projects_playbooks_and_their_last_run(project: CorralProject) -> None:
    assert project.run("run", "playbooks/backup.yml", "-i", "inventory.ini").exit_code == 0
    result = project.run("triggers", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["playbook"], r["play"], r["kind"]) for r in rows] == [
        ("playbooks/backup.yml", "Nightly backup", "cron"),
        ("playbooks/backup.yml", "Nightly backup", "cron"),
    ]
    assert rows[0]["args"] == {
        "schedule": "30 2 * * 1-5",
        "timezone": "Europe/Berlin",
        "overlap": "skip",
    }
    fire = datetime.fromisoformat(rows[0]["next_fire"])
    assert fire.utcoffset() == fire.astimezone(ZoneInfo("Europe/Berlin")).utcoffset()
    assert rows[0]["last_run"].split()[1] == "succeeded"
    table = project.run("triggers").stdout
    assert "PLAYBOOK" in table
    assert "playbooks/backup.yml" in table
    assert "site.yml" not in table
    assert "hosts.yml" not in table


def test_a_broken_playbook_is_reported_and_the_others_still_listed(project: CorralProject) -> None:
    project.write(
        "broken.yml",
        "- hosts: localhost\n  triggers:\n    - cronn: {schedule: '@daily'}\n  tasks: []\n",
    )
    result = project.run("triggers", "--json")
    assert result.exit_code == 4
    assert "error: broken.yml:3:7: unknown trigger 'cronn'" in result.stderr
    assert "hint: did you mean 'cron'?" in result.stderr
    assert len(json.loads(result.stdout)) == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("cronn: {schedule: '@daily'}", "3:7: unknown trigger 'cronn'"),
        ("cron: '@daily'", "3:13: trigger 'cron' takes a mapping of arguments, got a string"),
        ("cron: {schedule: '61 * * * *'}", "trigger 'cron': schedule: '61 * * * *' is not a cron"),
        ("cron: {schedule: '@daily', timezone: Mars/Base}", "unknown time zone 'Mars/Base'"),
        ("cron: {schedule: '@daily', jitter: soon}", "trigger 'cron': jitter: 'soon' is not of"),
        ("cron: {schedule: '@daily', overlaps: skip}", "unknown argument 'overlaps' for trigger"),
        ("cron: {timezone: UTC}", "trigger 'cron': 'schedule' is a required property"),
        ("{}", "3:5: play keyword 'triggers'"),
    ],
)
def test_bad_triggers_are_playbook_errors_at_their_line(
    corral_project: CorralProject, entry: str, message: str
) -> None:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    corral_project.write(
        "site.yml", f"- hosts: localhost\n  triggers:\n    - {entry}\n  tasks: []\n"
    )
    result = corral_project.run("check", "site.yml", "-i", "inventory.ini")
    assert result.exit_code == 4, result.stdout
    assert result.stderr.startswith("error: site.yml:"), result.stderr
    assert message in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


def test_plan_shows_the_triggers_too(project: CorralProject) -> None:
    text = project.run("plan", "playbooks/backup.yml", "-i", "inventory.ini")
    assert text.exit_code == 0, text.stderr
    assert "trigger: cron (schedule=@hourly) on play 'Nightly backup': next " in text.stdout
    shown = project.run("plan", "playbooks/backup.yml", "-i", "inventory.ini", "--output", "json")
    triggers = json.loads(shown.stdout)["triggers"]
    assert [(t["play"], t["kind"], t["args"]["schedule"]) for t in triggers] == [
        ("Nightly backup", "cron", "30 2 * * 1-5"),
        ("Nightly backup", "cron", "@hourly"),
    ]


def test_templated_arguments_are_judged_when_armed_not_when_loaded(
    corral_project: CorralProject,
) -> None:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    play = "- hosts: localhost\n  triggers:\n    - cron: %s\n  tasks: []\n"
    corral_project.write("ok.yml", play % '{schedule: "{{ nightly }}", jitter: 10}')
    ok = corral_project.run("check", "ok.yml", "-i", "inventory.ini")
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout.rstrip().endswith("next when armed (its arguments are templates)")
    # A template stands for itself only: a missing required argument is still missing.
    corral_project.write("bad.yml", play % '{timezone: "{{ zone }}"}')
    bad = corral_project.run("check", "bad.yml", "-i", "inventory.ini")
    assert bad.exit_code == 4
    assert "trigger 'cron': 'schedule' is a required property" in bad.stderr

"""Policy guardrails (docs/policy.md): each rule refuses a violating run before any host
is touched, and lets an allowed one run; the decision is recorded in the run store.

Runs are real ``corral`` subprocesses on ``ansible_connection=local`` hosts whose play
creates one file per host: a refused run must leave none.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from policy_project import made, policy_project, stored_json

INVENTORY = """
[web]
w1 ansible_connection=local
w2 ansible_connection=local
[prod]
p1 ansible_connection=local
p2 ansible_connection=local
p3 ansible_connection=local
"""
# Kathmandu is UTC+05:45 all year: a freeze read in UTC would be off by hours.
ZONE = "Asia/Kathmandu"


@pytest.fixture
def project(corral_project, tmp_path):
    return policy_project(corral_project, tmp_path, INVENTORY, "site.yml", "other.yml")


def run(project, *args: str, playbook: str = "site.yml", env=None):
    return project.run_subprocess("run", playbook, "-i", "hosts.ini", *args, env=env)


def audit_rows(project) -> list[dict]:
    return stored_json(
        project,
        "SELECT json_object('channel', channel, 'action', action, 'outcome', outcome,"
        " 'args', json(args)) FROM audit",
    )


def policy_events(project) -> list[dict]:
    return stored_json(project, "SELECT data FROM events WHERE kind = 'policy'")


def assert_refused(result, rule: str, reason: str, line: int) -> None:
    assert result.exit_code == 4, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        f"error: policy.yml:{line}:5: run refused by policy rule {rule!r}: {reason}"
    ), lines
    assert lines[1].startswith("hint: ")
    assert len(lines) == 2
    assert "Traceback" not in result.output


def test_max_hosts_refuses_a_big_run_without_limit_and_records_it(project):
    project.write(
        "policy.yml",
        """
        rules:
          - name: small runs
            reason: big runs go in parts
            max_hosts: 4
        """,
    )
    refused = run(project)
    assert_refused(refused, "small runs", "big runs go in parts (5 hosts without --limit", 2)
    assert "--limit" in refused.stderr.splitlines()[1]
    assert made(project) == []
    (row,) = audit_rows(project)
    assert (row["channel"], row["action"], row["outcome"]) == ("policy", "refuse", "refused")
    assert row["args"]["playbook"] == "site.yml"
    assert row["args"]["rules"][0]["outcome"] == "refuse"
    assert policy_events(project) == []  # it never became a run

    allowed = run(project, "--limit", "prod")
    assert allowed.exit_code == 0, allowed.output
    assert made(project) == ["p1", "p2", "p3"]
    (event,) = policy_events(project)
    assert event["outcome"] == "allowed"
    assert event["rules"] == [
        {
            "rule": "small runs",
            "outcome": "allow",
            "reason": "big runs go in parts",
            "detail": "3 host(s), with --limit prod",
            "location": "policy.yml:2:5",
        }
    ]


def test_required_params_and_patterns(project):
    project.write(
        "policy.yml",
        """
        rules:
          - name: change ticket
            reason: every change has a ticket
            params:
              required: [ticket]
              match: {ticket: "CHG-[0-9]+"}
        """,
    )
    missing = run(project)
    assert_refused(missing, "change ticket", "every change has a ticket", 2)
    assert "param 'ticket' is not given" in missing.stderr
    wrong = run(project, "-p", "ticket=JIRA-7")
    assert_refused(wrong, "change ticket", "every change has a ticket", 2)
    assert "does not match CHG-[0-9]+" in wrong.stderr
    assert "JIRA-7" not in wrong.stderr  # a value may be a secret: never shown
    assert made(project) == []
    good = run(project, "-e", "ticket=CHG-42")  # -e gives a param its value too
    assert good.exit_code == 0, good.output
    assert made(project) == ["p1", "p2", "p3", "w1", "w2"]


def test_only_allowed_playbooks_on_a_group(project):
    project.write(
        "policy.yml",
        """
        rules:
          - name: prod playbooks
            reason: only reviewed playbooks run on prod
            groups: [prod]
            allow_playbooks: [site.yml]
        """,
    )
    refused = run(project, "--limit", "p1,w1", playbook="other.yml")
    assert_refused(refused, "prod playbooks", "only reviewed playbooks run on prod", 2)
    assert "other.yml is not one of the playbooks allowed on prod: site.yml" in refused.stderr
    assert made(project) == []
    # Not on prod: the rule does not apply.
    assert run(project, "--limit", "web", playbook="other.yml").exit_code == 0
    assert made(project) == ["w1", "w2"]
    assert run(project, "--limit", "prod").exit_code == 0
    assert made(project) == ["p1", "p2", "p3", "w1", "w2"]


def _cron_at(moment: datetime) -> str:
    return f"{moment.minute} {moment.hour} * * *"


def write_freeze(project, name: str, reason: str, rule: str) -> None:
    """A policy.yml in the test's time zone with one freeze rule (``rule``: its other keys)."""
    text = f"timezone: {ZONE}\nrules:\n  - name: {name}\n    reason: {reason}\n"
    project.write("policy.yml", text + textwrap.indent(textwrap.dedent(rule).strip(), "    "))


def zone_now() -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(ZONE))


def test_recurring_freeze_window_in_its_time_zone(project):
    now = zone_now()
    write_freeze(
        project,
        "nightly freeze",
        "the batch jobs run now",
        f'freeze: {{start: "{_cron_at(now - timedelta(minutes=30))}", duration: 2h}}',
    )
    refused = run(project, "--limit", "web")
    assert_refused(refused, "nightly freeze", "the batch jobs run now (in the freeze from", 3)
    end = (now - timedelta(minutes=30) + timedelta(hours=2)).strftime("%H:%M")
    assert f"{end} {ZONE}" in refused.stderr
    assert made(project) == []
    # A --check run changes nothing: the freeze does not apply to it (no check_mode: true).
    checked = run(project, "--limit", "web", "--check")
    assert checked.exit_code == 0, checked.output
    assert made(project) == []

    # The same window two hours from now: the run goes.
    project.write(
        "policy.yml",
        f"""
        rules:
          - name: nightly freeze
            reason: the batch jobs run now
            freeze:
              start: "{_cron_at(now + timedelta(hours=2))}"
              duration: 1h
              timezone: {ZONE}
        """,
    )
    allowed = run(project, "--limit", "web")
    assert allowed.exit_code == 0, allowed.output
    assert made(project) == ["w1", "w2"]


def test_one_off_freeze_from_until(project):
    now = zone_now()
    write_freeze(
        project,
        "year-end freeze",
        "no changes over the holidays",
        f"""
        groups: [prod]
        check_mode: true
        freeze:
          from: "{(now - timedelta(hours=1)):%Y-%m-%d %H:%M}"
          until: "{(now + timedelta(hours=1)):%Y-%m-%d %H:%M}"
        """,
    )
    refused = run(project, "--limit", "prod", "--check")  # check_mode: true applies it
    assert_refused(refused, "year-end freeze", "no changes over the holidays", 3)
    assert made(project) == []
    assert run(project, "--limit", "web").exit_code == 0  # not prod: not frozen
    assert made(project) == ["w1", "w2"]


def test_approval_rule_waits_for_corral_approve_and_refuses_when_nobody_can(project):
    project.write(
        "policy.yml",
        """
        rules:
          - name: prod approval
            reason: prod changes are reviewed
            groups: [prod]
            approval: {timeout: 60s}
        """,
    )
    # No terminal and no run store: nobody could approve, so the run does not start.
    nobody = run(project, "--limit", "prod", "--no-store")
    assert_refused(nobody, "prod approval", "prod changes are reviewed", 2)
    assert "nobody can approve" in nobody.stderr
    assert made(project) == []

    corral = str(Path(sys.executable).with_name("corral"))
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini", "--limit", "prod", "--output", "json"],
        cwd=project.path,
        env=project._environ(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = project.run_subprocess("approve", "last", "--comment", "looked at it")
            if answer.exit_code == 0:
                break
            assert made(project) == []  # waiting: nothing done yet
            time.sleep(0.3)
        assert answer.exit_code == 0, answer.output
        assert answer.stdout.startswith("approved: Policy 'prod approval': prod changes")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert made(project) == ["p1", "p2", "p3"]
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (policy,) = [e for e in events if e["event"] == "policy"]
    assert policy["outcome"] == "approval"
    assert policy["rules"][0]["plays"] == ["make files"]
    assert [e["approved"] for e in events if e["event"] == "approval_result"] == [True]


def test_policy_named_by_option_or_environment(project, tmp_path):
    elsewhere = tmp_path / "team-policy.yml"
    elsewhere.write_text(
        "rules:\n  - name: tiny\n    reason: one host at a time\n    max_hosts: 1\n"
    )
    by_option = run(project, "--policy", str(elsewhere))
    assert by_option.exit_code == 4
    assert f"error: {elsewhere}:2:5: run refused by policy rule 'tiny'" in by_option.stderr
    by_env = run(project, env={"CORRAL_POLICY": str(elsewhere)})
    assert by_env.exit_code == 4
    assert made(project) == []
    missing = run(project, "--policy", "nope.yml")
    assert missing.exit_code == 4
    assert missing.stderr.startswith("error: policy file not found: nope.yml (named by --policy)")

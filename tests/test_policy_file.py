"""policy.yml itself: its errors at file:line:col, ``corral check`` and ``corral plan`` on
it, and plugin policies through the ``corral_check_run`` hook (docs/policy.md)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from policy_project import made, policy_project

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

INVENTORY = """
[web]
w1 ansible_connection=local
[prod]
p1 ansible_connection=local
p2 ansible_connection=local
"""


@pytest.fixture
def project(corral_project, tmp_path):
    return policy_project(corral_project, tmp_path, INVENTORY)


BAD = [
    (
        "rules:\n  - name: a\n    reason: b\n    max_host: 3\n",
        "policy.yml:4:5: unknown key 'max_host' in rule 'a'",
        "did you mean 'max_hosts'?",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    max_hosts: many\n",
        "policy.yml:4:5: rule 'a' max_hosts: 'many' is not of type 'integer'",
        "see docs/policy.md",
    ),
    (
        "rules:\n  - reason: b\n    max_hosts: 1\n",
        "policy.yml:2:5: rule 1: 'name' is a required property",
        "see docs/policy.md",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n",
        "policy.yml:2:5: rule 'a' says nothing to check: a rule has exactly one of approval,"
        " max_hosts, freeze, allow_playbooks, params",
        "see docs/policy.md",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    max_hosts: 1\n    approval: true\n",
        "policy.yml:2:5: rule 'a' has approval and max_hosts: a rule has exactly one of"
        " approval, max_hosts, freeze, allow_playbooks, params",
        "split it into one rule per check",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    freeze: {start: '0 25 * * *', duration: 1h}\n",
        "policy.yml:4:14: freeze.start: '0 25 * * *' is not a cron expression",
        "five fields: minute hour day month weekday, e.g. '0 18 * * 5'",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    freeze: {start: '0 2 * * *', duration: soon}\n",
        "policy.yml:4:34: freeze.duration: 'soon' is not a duration",
        "e.g. 90m, 62h, 2d",
    ),
    (
        "timezone: Mars/Olympus\nrules: []\n",
        "policy.yml:1:1: unknown time zone 'Mars/Olympus'",
        "an IANA name such as UTC, Europe/Berlin or America/New_York",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    freeze: {from: 2026-12-20, until: 2026-12-01}\n",
        "policy.yml:4:32: freeze: until is not after from",
        None,
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    params: {match: {x: '(['}}\n",
        "policy.yml:4:22: params.match.x: '([' is not a regular expression"
        " (unterminated character set at position 1)",
        None,
    ),
    (
        "rules:\n  - {name: a, reason: b, max_hosts: 1}\n  - {name: a, reason: c, max_hosts: 2}\n",
        "policy.yml:3:5: rule 'a' is defined twice (first at policy.yml:2:5)",
        "give every rule its own name",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    approval: {timeot: 1h}\n",
        "policy.yml:4:16: unknown key 'timeot' in rule 'a' approval",
        "did you mean 'timeout'?",
    ),
    (
        "rules:\n  - name: a\n    reason: b\n    approval: false\n",
        "policy.yml:4:5: rule 'a' approval: takes true, or a mapping of message, timeout,"
        " forbid_starter",
        "see docs/policy.md",
    ),
    (
        "- max_hosts: 3\n",
        "policy.yml:1:1: a policy file is a mapping with a 'rules:' list",
        "see docs/policy.md",
    ),
    ("rules: [\n", "policy.yml:2:1: did not find expected node content", None),
    ("# nothing yet\n", "policy.yml:1:1: policy file is empty", "write 'rules:' with a list"),
]


@pytest.mark.parametrize(("text", "error", "hint"), BAD, ids=[e for _, e, _ in BAD])
def test_bad_policy_file_is_one_line_at_file_line_col(project, text, error, hint):
    project.write("policy.yml", text)
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {error}"
    if hint:
        assert lines[1].startswith(f"hint: {hint}")
    assert len(lines) <= 2
    assert "Traceback" not in result.output


def test_run_with_a_bad_policy_file_touches_nothing(project):
    project.write("policy.yml", "rules:\n  - name: a\n    reason: b\n    max_host: 3\n")
    result = project.run_subprocess("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: policy.yml:4:5: unknown key 'max_host' in rule 'a'")
    assert made(project) == []


POLICY = """
rules:
  - name: small runs
    reason: big runs go in parts
    max_hosts: 2
  - name: prod approval
    reason: prod changes are reviewed
    groups: [prod]
    approval: {timeout: 10m, forbid_starter: true}
  - name: web freeze
    reason: not on web
    groups: [web]
    freeze: {from: "2001-01-01 00:00", until: "2001-01-02 00:00"}
  - name: others one at a time
    reason: the other playbooks are new
    playbooks: [other*.yml]
    max_hosts: 1
"""


def test_check_validates_the_policy_and_plan_shows_what_each_rule_decides(project):
    project.write("policy.yml", POLICY)
    checked = project.run("check", "site.yml", "-i", "hosts.ini")
    assert checked.exit_code == 0, checked.output
    assert "ok: policy policy.yml is valid (4 rules)" in checked.stdout

    plan = project.run("plan", "site.yml", "-i", "hosts.ini")
    assert plan.exit_code == 0, plan.output
    plan.fnmatch_lines(
        [
            "policy (policy.yml): a run would be REFUSED",
            "  refuse         small runs: 3 hosts without --limit, at most 2",
            "  approval       prod approval: 1 play(s) wait for an approval: make files",
            "  allow          web freeze: outside the freeze",
            "  not applicable others one at a time: playbook site.yml not in scope",
        ]
    )
    limited = project.run(
        "plan", "site.yml", "-i", "hosts.ini", "--limit", "prod", "--output", "json"
    )
    assert limited.exit_code == 0, limited.output
    policy = json.loads(limited.stdout)["policy"]
    assert policy["file"] == "policy.yml"
    assert policy["outcome"] == "approval"
    assert [(r["rule"], r["outcome"]) for r in policy["rules"]] == [
        ("small runs", "allow"),
        ("prod approval", "approval"),
        ("web freeze", "not applicable"),
        ("others one at a time", "not applicable"),
    ]
    assert policy["rules"][1]["location"] == "policy.yml:5:5"
    # No policy.yml: plan says nothing about policies.
    (project.path / "policy.yml").unlink()
    bare = project.run("plan", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert "policy" not in json.loads(bare.stdout)


def test_a_plan_made_for_a_project_reads_its_policy_from_any_directory(
    project, tmp_path, monkeypatch
):
    # corral serve's and corral mcp's plans name the project; their process may be elsewhere.
    from corral.ansible_cfg import load_settings
    from corral.commands.plan import make_plan
    from corral.plugins import build_registry, make_plugin_manager

    project.write("policy.yml", POLICY)
    environ = {**project.env, "NO_COLOR": "1"}
    monkeypatch.chdir(tmp_path)
    plan, lines = make_plan(
        project.path / "site.yml",
        build_registry(make_plugin_manager(environ)),
        environ,
        settings=load_settings(environ, project.path),
        cwd=project.path,
        inventories=[str(project.path / "hosts.ini")],
    )
    assert plan["policy"]["file"] == str(project.path / "policy.yml")
    assert plan["policy"]["outcome"] == "refused"
    assert "policy (" + str(project.path / "policy.yml") + "): a run would be REFUSED" in lines


PLUGIN = '''
"""A policy plugin: no prod run from a cron trigger, and a ticket check by approval."""

from corral import Verdict, hookimpl


@hookimpl
def corral_check_run(plan):
    if plan.params.get("hotfix"):
        return Verdict(rule="hotfix", outcome="approval", reason="hotfixes are looked at")
    prod = [p.name for p in plan.plays if "prod" in p.groups]
    if prod and not plan.check:
        return [
            Verdict(
                rule="prod from cli",
                outcome="refuse",
                reason=f"{plan.user} may not run {plan.playbook.name} on prod from {plan.trigger}",
                hint="ask the release team",
            )
        ]
    if plan.limit and "boom" in plan.limit:
        raise RuntimeError("policy service down")
    return None
'''


@pytest.mark.slow
def test_hook_corral_check_run(project, tmp_path):
    source = tmp_path / "gatekeeper"
    (source / "corral_gatekeeper").mkdir(parents=True)
    (source / "corral_gatekeeper" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (source / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['hatchling']\nbuild-backend = 'hatchling.build'\n"
        "[project]\nname = 'corral-gatekeeper'\nversion = '1.0'\n"
        "[project.entry-points.corral]\ngatekeeper = 'corral_gatekeeper'\n"
        "[tool.hatch.build.targets.wheel]\npackages = ['corral_gatekeeper']\n"
    )
    # Into a directory of its own, found through PYTHONPATH: never into the shared venv.
    site = tmp_path / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "--no-build-isolation", "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {"PYTHONPATH": str(site)}

    refused = project.run_subprocess("run", "site.yml", "-i", "hosts.ini", env=env)
    assert refused.exit_code == 4, refused.output
    lines = refused.stderr.splitlines()
    assert lines[0].startswith(
        "error: run refused by policy rule 'prod from cli' of plugin 'gatekeeper': "
    )
    assert "may not run site.yml on prod from cli" in lines[0]
    assert lines[1] == "hint: ask the release team"
    assert made(project) == []

    crashed = project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "--limit", "boom,w1", env=env
    )
    assert crashed.exit_code == 4  # a failing policy plugin refuses: fail closed
    assert "policy service down" in crashed.stderr
    assert made(project) == []

    allowed = project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "--limit", "web", env=env
    )
    assert allowed.exit_code == 0, allowed.output
    assert made(project) == ["w1"]

    plan = project.run_subprocess(
        "plan", "site.yml", "-i", "hosts.ini", "-e", "hotfix=1", "--output", "json", env=env
    )
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["policy"] == {
        "file": None,
        "outcome": "approval",
        "rules": [
            {
                "rule": "hotfix",
                "outcome": "approval",
                "reason": "hotfixes are looked at",
                "plugin": "gatekeeper",
            }
        ],
    }

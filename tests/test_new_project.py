"""``corral new project`` and ``corral new playbook``: what they make passes check and runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from corral.library import templates

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = templates(ROOT / "playbooks")
BIN = str(Path(sys.executable).parent)


def test_a_new_project_passes_check_and_runs_its_playbook_on_its_own_inventory(corral_project):
    made = corral_project.run_subprocess("new", "project", "ops")
    assert made.exit_code == 0, made.output
    project = corral_project.path / "ops"
    for name in ("ansible.cfg", "hosts.yml", "group_vars/app.yml", "roles/app/tasks/main.yml"):
        assert (project / name).is_file(), name
    assert ".state/" in (project / ".gitignore").read_text()
    workflow = yaml.safe_load((project / ".github/workflows/check.yml").read_text())
    assert workflow["jobs"]["check"]["steps"][-1] == {"run": "ci/check.sh"}

    def corral(*args: str) -> subprocess.CompletedProcess[str]:
        # In the project, with no -i: ansible.cfg's inventory = hosts.yml is what is used.
        env = {**os.environ, **corral_project.env, "PATH": f"{BIN}:{os.environ['PATH']}"}
        return subprocess.run(
            args, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    checked = corral("corral", "check", "site.yml")
    assert checked.returncode == 0, checked.stderr
    ci = corral("ci/check.sh")
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert "ok: site.yml is valid" in ci.stdout

    dry = corral("corral", "run", "site.yml", "--check", "--diff")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "+hello from localhost, managed by ops" in dry.stdout
    assert not (project / ".state").exists()  # check mode touched nothing

    ran = corral("corral", "run", "site.yml", "-p", "greeting=hi", "-p", "copies=2")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    state = project / ".state" / "localhost"
    assert sorted(p.name for p in state.iterdir()) == ["greeting-1.txt", "greeting-2.txt"]
    assert (state / "greeting-2.txt").read_text() == "hi from localhost, managed by ops\n"

    again = corral("corral", "run", "site.yml", "-p", "greeting=hi", "-p", "copies=2")
    assert "changed=0" in again.stdout  # a second run finds everything in place

    bad = corral("corral", "run", "site.yml", "-p", "copies=0")
    assert bad.returncode == 4
    assert "copies: 0 is less than the minimum of 1" in bad.stderr


def test_a_non_empty_directory_is_refused_and_force_adds_only_missing_files(corral_project):
    corral_project.write("ops/hosts.yml", "all: {hosts: {db1: {}}}\n")
    refused = corral_project.run_subprocess("new", "project", "ops")
    assert refused.exit_code == 5
    assert refused.stderr.splitlines() == [
        "error: ops is not empty; not writing into it",
        "hint: give a new or empty directory, or --force to add only the missing files",
    ]
    assert sorted(p.name for p in (corral_project.path / "ops").iterdir()) == ["hosts.yml"]

    forced = corral_project.run_subprocess("new", "project", "ops", "--force")
    assert forced.exit_code == 0, forced.output
    assert "kept existing hosts.yml" in forced.stdout
    assert (corral_project.path / "ops/hosts.yml").read_text() == "all: {hosts: {db1: {}}}\n"
    assert (corral_project.path / "ops/site.yml").is_file()


def test_list_shows_every_library_playbook_with_its_description(corral_project):
    listed = corral_project.run_subprocess("new", "playbook", "--list")
    assert listed.exit_code == 0, listed.output
    assert {"demo", "provision-base", "rolling-upgrade"} <= {t.name for t in LIBRARY}
    for template in LIBRARY:
        line = next(x for x in listed.stdout.splitlines() if x.split()[:1] == [template.name])
        assert template.description[:40] in line
    demo = next(t for t in LIBRARY if t.name == "demo")
    assert demo.description.startswith("A tour of corral on this machine")


def _header_values(path: Path) -> tuple[list[str], str]:
    """The ``-p NAME=VALUE`` examples and the ``-i`` inventory of a template's header comment."""
    header = "".join(re.findall(r"^#.*\n", path.read_text(), flags=re.MULTILINE))
    params = dict(re.findall(r"-p (\w+)=(\S+)", header))
    inventories = [i for i in re.findall(r"-i (\S+)", header) if (ROOT / i).exists()]
    return [f"{k}={v}" for k, v in params.items()], inventories[0] if inventories else ""


def _inventory_for(path: Path, examples: list[str], directory: Path) -> Path:
    """An inventory with the groups the template's plays name and the hosts its examples do.

    A template whose header names no bundled inventory (``-i inventory.yml``: the user's)
    is checked on one local host per group of its plays' ``hosts:`` and one per host its
    examples give (``-p lb_host=lb1``), as the user's inventory would have them.
    """
    local = {"ansible_connection": "local"}
    groups: dict[str, dict[str, object]] = {}
    for play in yaml.safe_load(path.read_text()):
        for group in re.split(r"[:,&!]+", str(play.get("hosts", ""))):
            if re.fullmatch(r"[A-Za-z_]\w*", group) and group != "all":
                groups[group] = {"hosts": {f"{group}1": local}}
    named = {v for k, v in (e.split("=", 1) for e in examples) if k.endswith("_host")}
    if not groups and not named:  # plays on all hosts: the library's bundled inventory
        return ROOT / "inventory" / "local.yml"
    inventory = {"all": {"hosts": dict.fromkeys(named, local), "children": groups}}
    written = directory / "template-inventory.yml"
    written.write_text(yaml.safe_dump(inventory))
    return written


def _required(path: Path) -> set[str]:
    plays = yaml.safe_load(path.read_text())
    return {
        name
        for play in plays
        for name, spec in (play.get("params") or {}).items()
        if "default" not in spec
    }


@pytest.mark.parametrize("template", LIBRARY, ids=[t.name for t in LIBRARY])
def test_each_template_copies_with_its_roles_and_passes_check(corral_project, template):
    made = corral_project.run_subprocess("new", "playbook", "mine", "--from", template.name)
    assert made.exit_code == 0, made.output
    copy = corral_project.path / "mine.yml"
    for role in re.findall(r"copied role (\S+)", made.stdout):
        assert (corral_project.path / "roles" / role / "tasks").is_dir()
    # Checked with the values its header shows (required params) on the library's
    # bundled inventory, or the one its header names.
    examples, inventory = _header_values(template.path)
    given = [e for e in examples if e.split("=")[0] in _required(template.path)]
    assert {g.split("=")[0] for g in given} == _required(template.path), (
        "show an example -p NAME=VALUE for each required param in the template's header"
    )
    args = [a for g in given for a in ("-p", g)]
    inventory_path = (
        ROOT / inventory
        if inventory
        else _inventory_for(template.path, examples, corral_project.path)
    )
    for param in _required(template.path):
        assert f"-p {param}=..." in made.stdout  # the copy says what a run must give
    checked = corral_project.run_subprocess("check", str(copy), "-i", str(inventory_path), *args)
    assert checked.exit_code == 0, checked.output


def test_provision_base_brings_its_roles(corral_project):
    made = corral_project.run_subprocess("new", "playbook", "base", "--from", "provision-base")
    assert made.exit_code == 0, made.output
    roles = sorted(p.name for p in (corral_project.path / "roles").iterdir())
    assert roles == sorted(["base_packages", "base_users", "sshd_hardening", "base_sysctl",
                            "unattended_upgrades", "base_cron", "base_timezone"])  # fmt: skip
    again = corral_project.run_subprocess("new", "playbook", "other", "--from", "provision-base")
    assert "kept existing role base_users" in again.stdout


def test_a_minimal_playbook_has_typed_params_and_runs(corral_project):
    made = corral_project.run_subprocess("new", "playbook", "hello")
    assert made.exit_code == 0, made.output
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    ran = corral_project.run_subprocess(
        "run", "hello.yml", "-i", "hosts.ini", "-p", "greeting=howdy"
    )
    assert ran.exit_code == 0, ran.output
    assert "howdy from localhost" in ran.stdout
    bad = corral_project.run_subprocess("run", "hello.yml", "-i", "hosts.ini", "-p", "greeting=")
    assert bad.exit_code == 4


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ["playbook", "Web App"],
            "error: invalid playbook name 'Web App'",
            "hint: use a lower-case letter first, then lower-case letters, digits, '-' or '_', "
            "e.g. 'web-app'",
        ),
        (
            ["playbook", "up", "--from", "rolling-upgrad"],
            "error: no playbook template 'rolling-upgrad'",
            "hint: did you mean 'rolling-upgrade'? one of: *",
        ),
        (
            ["playbook", "taken"],
            "error: taken.yml already exists; not overwriting it",
            "hint: choose another name, or --path for another directory",
        ),
        (
            ["plugin", "9lives"],
            "error: invalid plugin name '9lives'",
            "hint: use a lower-case letter first, *",
        ),
        (
            ["project", "taken.yml"],
            "error: taken.yml is a file, not a directory",
            "hint: give a directory path",
        ),
    ],
    ids=["bad-name", "unknown-template", "existing-file", "bad-plugin-name", "project-on-a-file"],
)
def test_usage_errors_are_one_line_with_a_hint_and_touch_nothing(corral_project, args, error, hint):
    corral_project.write("taken.yml", "- hosts: all\n  tasks: []\n")
    result = corral_project.run_subprocess("new", *args)
    assert result.exit_code == 5, result.output
    result.fnmatch_lines([error, hint])
    assert len(result.stderr.splitlines()) == 2
    assert "Traceback" not in result.output
    assert sorted(p.name for p in corral_project.path.iterdir()) == ["taken.yml"]
    assert (corral_project.path / "taken.yml").read_text() == "- hosts: all\n  tasks: []\n"

"""``corral new plugin`` makes a package that installs, is listed and passes its own tests;
and an installed corral (a wheel) carries the playbook library ``--from`` copies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corral.library import templates

ROOT = Path(__file__).resolve().parent.parent
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_new_plugin_installs_is_listed_and_passes_its_generated_tests(corral_project, tmp_path):
    made = corral_project.run_subprocess("new", "plugin", "web-check")
    assert made.exit_code == 0, made.output
    package = corral_project.path / "corral-web-check-plugin"
    # Installed into a directory of its own, found through PYTHONPATH: never into the
    # environment the other tests share. No build isolation: hatchling is a dev dependency.
    site = tmp_path / "site"
    installed = _run(*PIP, "install", "--no-deps", "--no-build-isolation", "--target", str(site),
                     str(package), cwd=tmp_path)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    env = {"PYTHONPATH": str(site)}

    listed = corral_project.run_subprocess("plugins", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    mine = {p["name"]: p for p in json.loads(listed.stdout)}["web_check"]
    assert mine["distribution"] == "corral-web-check-plugin"
    assert mine["builtin"] is False
    assert mine["steps"] == ["web_check.greet"]
    assert "web_check" not in corral_project.run_subprocess("plugins", "--json").stdout

    own = _run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
               cwd=package, env={**env, **corral_project.env})  # fmt: skip
    assert own.returncode == 0, own.stdout + own.stderr
    assert "3 passed" in own.stdout

    # The generated code meets this project's own lint and format rules.
    ruff = Path(sys.executable).with_name("ruff")
    config = str(ROOT / "pyproject.toml")
    for command in (["check"], ["format", "--check"]):
        linted = _run(str(ruff), *command, "--config", config, ".", cwd=package)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    again = corral_project.run_subprocess("new", "plugin", "web-check")
    assert again.exit_code == 5
    assert again.stderr.splitlines()[0] == (
        "error: corral-web-check-plugin already exists; not writing into it"
    )


@pytest.mark.slow
def test_an_installed_wheel_finds_the_library_in_its_package_data(corral_project, tmp_path):
    built = _run(sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d",
                 str(tmp_path / "dist"), cwd=ROOT)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("corral-*.whl")
    site = tmp_path / "site"
    installed = _run(*PIP, "install", "--no-deps", "--target", str(site), str(wheel), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    library = site / "corral" / "playbooks"
    assert (library / "roles" / "base_users" / "tasks" / "main.yml").is_file()
    env = {"PYTHONPATH": str(site)}

    listed = corral_project.run_subprocess("new", "playbook", "--list", env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[0] == f"templates in {library}:"
    names = {line.split()[0] for line in listed.stdout.splitlines()[1:]}
    assert names == {t.name for t in templates(ROOT / "playbooks")}

    # A playbook added to the library is a template at once, described by its comment.
    (library / "nightly-report.yml").write_text(
        "# Mails last night's run report. Nothing else.\n- hosts: all\n  tasks: []\n"
    )
    again = corral_project.run_subprocess("new", "playbook", "--list", env=env)
    rows = [line.split(None, 1) for line in again.stdout.splitlines()[1:]]
    assert ["nightly-report", "Mails last night's run report."] in rows
    made = corral_project.run_subprocess(
        "new", "playbook", "report", "--from", "nightly-report", env=env
    )
    assert made.exit_code == 0, made.output
    assert (corral_project.path / "report.yml").read_text().startswith("# Mails last night's")

"""The run store and crash files are private to their user (issue 14.12).

``corral`` runs in a subprocess with a permissive umask (0o022, 0o000): ``CORRAL_HOME``
must be 0700 and ``corral.db``, its ``-wal`` and ``-shm`` (looked at while a run holds
them open) and crash tracebacks 0600. A store left readable by an older corral is made
private when opened, with one warning line.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: hold
      shell: "for i in $(seq 2400); do test -f {{ release }} && break; sleep 0.05; done"
"""
CRASH_PLUGIN = """
import click
from corral import hookimpl

@hookimpl
def corral_register_commands(cli):
    @cli.command("boom")
    def boom():
        raise RuntimeError("boom for the crash file")
"""


def corral_executable() -> list[str]:
    executable = Path(sys.executable).with_name("corral")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "corral"]


def environ(project, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **project.env, **extra}
    env.pop("CORRAL_DEBUG", None)
    return env


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_store_files_are_private_under_a_permissive_umask(corral_project, tmp_path, umask):
    project = corral_project
    release = tmp_path / "release"
    project.write(
        "hosts.yml", f"all:\n  vars: {{ansible_connection: local, release: {release}}}\n"
        "  hosts:\n    h1: {}\n"
    )  # fmt: skip
    project.write("site.yml", PLAYBOOK)
    home = Path(project.env["CORRAL_HOME"])
    proc = subprocess.Popen(
        [*corral_executable(), "run", "site.yml", "-i", "hosts.yml"],
        cwd=project.path,
        env=environ(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        umask=umask,
    )
    try:
        files = [home / name for name in ("corral.db", "corral.db-wal", "corral.db-shm")]
        deadline = time.monotonic() + 120
        while not all(path.exists() for path in files):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run opened its store"
            time.sleep(0.02)
        seen = {path.name: oct(mode(path)) for path in [home, *files]}
    finally:
        release.touch()
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stdout + stderr
    assert seen == {
        home.name: "0o700",
        "corral.db": "0o600",
        "corral.db-wal": "0o600",
        "corral.db-shm": "0o600",
    }
    assert "warning" not in stderr, "a store corral created needs no fixing"


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_crash_tracebacks_are_private(corral_project, tmp_path, umask):
    project = corral_project
    (tmp_path / "crashplug.py").write_text(CRASH_PLUGIN)
    env = environ(
        project,
        CORRAL_DISABLE_PLUGIN_AUTOLOAD="1",
        CORRAL_PLUGINS="crashplug",
        PYTHONPATH=str(tmp_path),
    )
    result = subprocess.run(
        [*corral_executable(), "boom"],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        umask=umask,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "internal error: RuntimeError: boom for the crash file" in result.stderr
    home = Path(project.env["CORRAL_HOME"])
    [crash] = (home / "crash").iterdir()
    assert crash.read_text().rstrip().endswith("RuntimeError: boom for the crash file")
    assert str(crash) in result.stderr
    modes = {p.name: oct(mode(p)) for p in (home, home / "crash", crash)}
    assert modes == {home.name: "0o700", "crash": "0o700", crash.name: "0o600"}


def test_an_existing_readable_store_is_made_private_with_a_warning(corral_project, tmp_path):
    project = corral_project
    project.write("hosts.yml", "all:\n  hosts:\n    h1: {ansible_connection: local}\n")
    project.write(
        "site.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: hi}\n"
    )
    first = project.run_subprocess("run", "site.yml", "-i", "hosts.yml")
    assert first.exit_code == 0, first.output
    home = Path(project.env["CORRAL_HOME"])
    # As an older corral left it: readable by everyone, a WAL file beside it.
    (home / "corral.db-wal").write_bytes(b"")
    (home / "crash").mkdir()
    (home / "crash" / "old.txt").write_text("Traceback ...\n")
    for path, bits in [
        (home, 0o755),
        (home / "corral.db", 0o644),
        (home / "corral.db-wal", 0o644),
        (home / "crash", 0o755),
        (home / "crash" / "old.txt", 0o644),
    ]:
        path.chmod(bits)

    shown = project.run_subprocess("history")
    assert shown.exit_code == 0, shown.output
    warnings = [line for line in shown.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, shown.stderr
    assert str(home) in warnings[0]
    assert "0755 -> 0700" in warnings[0]
    assert "corral.db 0644 -> 0600" in warnings[0]
    assert mode(home) == 0o700
    assert mode(home / "corral.db") == 0o600
    assert all(mode(p) == 0o600 for p in home.glob("corral.db-*"))
    assert mode(home / "crash") == 0o700
    assert mode(home / "crash" / "old.txt") == 0o600

    again = project.run_subprocess("history")
    assert "warning" not in again.stderr, "fixed once, quiet after"

"""Every ``$`` line of docs/migrating.md runs as written and prints what the page shows.

The page walks through moving a real Ansible project (Kubespray's ``contrib/azurerm``, in
the real-world corpus) to corral. Its console blocks run in order, in one shell session
per command that keeps the working directory, from a directory that stands for a corral
checkout (``tests/`` linked in), with ``HOME`` and ``CORRAL_HOME`` in ``tmp_path`` so that
``~/azurerm`` and the run store are the test's own (ansible-playbook, a test dependency,
is told which Python to run its modules with). Each shown output line must appear
in the command's output (whitespace runs compared as one space, ``...`` matching any
text); a line that is only ``...`` stands for lines left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "migrating.md"
BIN = str(Path(sys.executable).parent)
WAIT = 120.0  # seconds any one command may take, on a loaded machine


@dataclass(frozen=True)
class Step:
    """One ``$`` command of the page (a heredoc included), its exit code and shown output."""

    command: str
    exit_code: int
    shown: tuple[str, ...]


def steps() -> list[Step]:
    """The page's console blocks, in order, split into commands and their output."""
    text = PAGE.read_text(encoding="utf-8")
    found: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            assert line.startswith("$ "), f"output before any command: {line!r}"
            command = [line[2:]]
            index += 1
            if "<<'EOF'" in line:
                while lines[index] != "EOF":
                    command.append(lines[index])
                    index += 1
                command.append(lines[index])
                index += 1
            shown: list[str] = []
            while index < len(lines) and not lines[index].startswith("$ "):
                shown.append(lines[index])
                index += 1
            code = re.search(r"#\s*exit (\d+)\s*$", line)
            found.append(Step("\n".join(command), int(code.group(1)) if code else 0, tuple(shown)))
    return found


def _squash(text: str) -> str:
    return " ".join(text.split())


def _pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in _squash(line).split("...")))


def test_the_page_has_the_walk_through() -> None:
    commands = [step.command for step in steps()]
    for needed in (
        "corral check",
        "--syntax-check",
        "--list-tasks",
        "--list-hosts",
        "--check --diff",
        "corral history",
        "corral show last",
        "corral vault encrypt",
        "-p cluster_name=",
        "corral resume last",
    ):
        assert any(needed in command for command in commands), needed


def test_every_command_of_the_page_runs_as_shown(tmp_path: Path) -> None:
    checkout = tmp_path / "corral"
    checkout.mkdir()
    (checkout / "tests").symlink_to(ROOT / "tests")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "CORRAL_HOME": str(tmp_path / "store"),
        "LC_ALL": "C.UTF-8",
        "COLUMNS": "200",
    }
    for name in [n for n in env if n.startswith(("ANSIBLE_", "CORRAL_INVENTORY"))]:
        del env[name]
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable  # for the page's ansible-playbook line
    cwd = checkout
    where = tmp_path / "cwd"
    for step in steps():
        script = f'{step.command}\nstatus=$?\npwd > "{where}"\nexit $status\n'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == step.exit_code, f"$ {step.command}\n{output}"
        assert "Traceback" not in output, f"$ {step.command}\n{output}"
        lines = [_squash(line) for line in output.splitlines()]
        for shown in step.shown:
            if _squash(shown) in ("", "..."):
                continue
            pattern = _pattern(shown)
            assert any(pattern.search(line) for line in lines), (
                f"$ {step.command}\nshown: {shown!r}\ngot:\n{output}"
            )
        cwd = Path(where.read_text(encoding="utf-8").strip())


@pytest.mark.parametrize(
    ("line", "text", "matches"),
    [
        ("error: ...group_vars/all: no", "error: /tmp/x/group_vars/all: no", True),
        ("a   b\tc", "a b c", True),
        ("changed=2", "changed=3", False),
    ],
)
def test_shown_lines_match_as_the_page_says(line: str, text: str, matches: bool) -> None:
    assert bool(_pattern(line).search(_squash(text))) is matches

"""The pytest fixtures of :mod:`corral.testing`, loaded by pytest through the ``pytest11``
entry point; import them from ``corral.testing``."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CliResult", "CorralProject", "corral_project"]

RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


@dataclass
class CliResult:
    """What one ``corral`` invocation did: exit code and captured output."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def lines(self) -> list[str]:
        return self.output.splitlines()

    def json_lines(self) -> list[dict[str, Any]]:
        """The JSON objects printed on stdout (``--output json``), one per line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def fnmatch_lines(self, patterns: Sequence[str]) -> None:
        """Assert that lines matching ``patterns`` (glob syntax) appear in this order."""
        lines = self.lines()
        position = 0
        for pattern in patterns:
            for index in range(position, len(lines)):
                if fnmatch.fnmatch(lines[index], pattern):
                    position = index + 1
                    break
            else:
                shown = "\n".join(lines[position:]) or "(no more output)"
                raise AssertionError(f"no line matches {pattern!r} after line {position}:\n{shown}")

    def recap(self) -> dict[str, dict[str, int]]:
        """Per-host recap counts, from the JSON recap line or the console ``PLAY RECAP``."""
        for event in reversed(self.json_lines()):
            if event.get("event") == "recap":
                return {host: dict(counts) for host, counts in event["hosts"].items()}
        hosts: dict[str, dict[str, int]] = {}
        in_recap = False
        for line in self.lines():
            if line.startswith("PLAY RECAP"):
                in_recap = True
                continue
            if in_recap and ":" in line:
                host, _, rest = line.partition(":")
                counts = dict(part.split("=") for part in rest.split() if "=" in part)
                hosts[host.strip()] = {k: int(counts.get(k, 0)) for k in RECAP_KEYS}
        return hosts

    def assert_recap(self, host: str | None = None, **expected: int) -> None:
        """Assert recap counts, for one host or summed over all hosts."""
        recap = self.recap()
        assert recap, f"no recap in output:\n{self.output}"
        if host is not None:
            counts = recap[host]
        else:
            counts = {k: sum(h.get(k, 0) for h in recap.values()) for k in RECAP_KEYS}
        actual = {key: counts.get(key, 0) for key in expected}
        assert actual == expected, f"recap {actual} != {expected}\n{self.output}"


@dataclass
class CorralProject:
    """A temporary project directory with helpers to write files and run ``corral`` in it."""

    path: Path
    env: dict[str, str] = field(default_factory=dict)
    plugins: list[object] = field(default_factory=list)

    def write(self, name: str, text: str) -> Path:
        """Write ``text`` (dedented) to ``name`` under the project, creating directories."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"))
        return target

    def _environ(self, env: Mapping[str, str] | None) -> dict[str, str]:
        merged = {**os.environ, "NO_COLOR": "1", **self.env, **(env or {})}
        merged.pop("CORRAL_DEBUG", None)
        return merged

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
        """Run ``corral ARGS`` in-process, in the project directory, and capture its output."""
        from corral.cli import main

        out, err = io.StringIO(), io.StringIO()
        plugins = [(f"inline-{i}-{type(p).__name__}", p) for i, p in enumerate(self.plugins)]
        with _chdir(self.path), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args), environ=self._environ(env), extra_plugins=plugins)
        return CliResult(tuple(args), code, out.getvalue(), err.getvalue())

    def run_subprocess(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> CliResult:
        """Run the installed ``corral`` executable (next to this Python) as a subprocess."""
        executable = Path(sys.executable).with_name("corral")
        command = [str(executable)] if executable.exists() else [sys.executable, "-m", "corral"]
        proc = subprocess.run(
            [*command, *args],
            cwd=self.path,
            env=self._environ(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture
def corral_project(tmp_path: Path) -> CorralProject:
    """A fresh project directory with its own ``CORRAL_HOME``."""
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "corral-home"
    return CorralProject(path=project, env={"CORRAL_HOME": str(home)})

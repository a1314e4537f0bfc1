"""Every ``$ corral ...`` line of the README's tour runs as written, in a fresh copy of the repo.

The lines run in the README's order with the installed ``corral``, in a temp directory
holding copies of ``site.yml``, ``playbooks/`` and ``inventory/`` (their ``/tmp/corral-*``
state directories pointed into the temp directory), with ``CORRAL_HOME`` there too.
Two lines need a second shell, as the README says: the rolling upgrade waits for
``corral approve last``, and is then stopped (Ctrl-C, as a user would) so that
``corral resume last`` has an interrupted run to continue.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORRAL = str(Path(sys.executable).with_name("corral"))
APPROVAL_RUN = "corral run playbooks/rolling-demo.yml"  # waits for corral approve
WAIT = 60.0  # seconds any one step of the tour may take, on a loaded machine


@dataclass(frozen=True)
class Command:
    """One corral command of a tour line: its argv and what the shell does with its output."""

    argv: tuple[str, ...]
    pipe: tuple[str, ...] = ()  # ``| jq .``
    redirect: str | None = None  # ``> report.html``

    @property
    def text(self) -> str:
        return shlex.join(self.argv)


def tour_lines() -> list[str]:
    """The ``$ corral ...`` lines of the README's "A tour" section, comments kept."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A tour", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block, "the tour has a console block"
    return [line[2:] for line in block.group(1).splitlines() if line.startswith("$ corral")]


def parse(line: str) -> list[Command]:
    """Split one tour line into its commands (``;``), with their pipes and redirects."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";|>")
    lexer.commenters = "#"
    lexer.whitespace_split = True
    commands: list[Command] = []
    for part in _split(list(lexer), ";"):
        words, _, piped = _partition(part, "|")
        words, _, target = _partition(words, ">")
        assert words[0] == "corral", line
        commands.append(
            Command(tuple(words), pipe=tuple(piped), redirect=target[0] if target else None)
        )
    return commands


def _split(tokens: list[str], sep: str) -> Iterator[list[str]]:
    part: list[str] = []
    for token in tokens:
        if token == sep:
            yield part
            part = []
        else:
            part.append(token)
    if part:
        yield part


def _partition(tokens: list[str], sep: str) -> tuple[list[str], str, list[str]]:
    if sep not in tokens:
        return tokens, "", []
    at = tokens.index(sep)
    return tokens[:at], sep, tokens[at + 1 :]


class Tour:
    """A fresh copy of what the tour needs, and a shell to run its commands in."""

    def __init__(self, path: Path) -> None:
        self.path = path
        shutil.copy(ROOT / "site.yml", path / "site.yml")
        shutil.copytree(ROOT / "playbooks", path / "playbooks")
        shutil.copytree(ROOT / "inventory", path / "inventory")
        local = path / "inventory" / "local.yml"
        local.write_text(local.read_text().replace("/tmp/corral-", f"{path}/state-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        self.env = {**env, "CORRAL_HOME": str(path / "home"), "COLUMNS": "120"}

    def argv(self, command: Command) -> list[str]:
        return [CORRAL, *command.argv[1:]]

    def run(self, command: Command) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(command),
            cwd=self.path,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=WAIT * 2,
            check=False,
        )

    def start(self, command: Command) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(command),
            cwd=self.path,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def approve_until_done(self, command: Command, proc: subprocess.Popen[str]) -> int:
        """Answer every approval ``proc`` asks for with ``command``; its exit code."""
        deadline = time.monotonic() + WAIT * 3
        while proc.poll() is None and time.monotonic() < deadline:
            self.run(command)
            time.sleep(0.2)
        return _finish(proc)

    def approve_once(self, command: Command) -> subprocess.CompletedProcess[str]:
        """Run ``command`` until it answers an approval (it exits 5 while none is asked)."""
        deadline = time.monotonic() + WAIT
        while True:
            result = self.run(command)
            if result.returncode == 0 or time.monotonic() > deadline:
                return result
            time.sleep(0.2)


def _finish(proc: subprocess.Popen[str]) -> int:
    try:
        proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode


def _interrupt(proc: subprocess.Popen[str]) -> int:
    """Ctrl-C, then Ctrl-C again (stop at once, not after the grace period)."""
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    return _finish(proc)


def test_the_tour_lines_parse() -> None:
    lines = tour_lines()
    assert len(lines) >= 10
    assert parse(lines[-1]) == [Command(("corral", "plugins"))]
    pipe = parse("corral run site.yml --output json | jq .   # one event per line")
    assert pipe == [Command(("corral", "run", "site.yml", "--output", "json"), pipe=("jq", "."))]
    both = parse("corral history; corral show last")
    assert [c.argv for c in both] == [("corral", "history"), ("corral", "show", "last")]
    assert parse("corral report last > r.html")[0].redirect == "r.html"
    limit = parse("corral run site.yml --limit 'web:&prod'   # comment")[0]
    assert limit.argv[-1] == "web:&prod"


@pytest.mark.timeout(600)
def test_every_tour_line_runs_as_written(tmp_path: Path) -> None:
    tour = Tour(tmp_path)
    waiting: subprocess.Popen[str] | None = None  # the run the next approve answers
    ran: list[str] = []
    for line in tour_lines():
        for command in parse(line):
            ran.append(command.text)
            if command.text.startswith(APPROVAL_RUN):
                waiting = tour.start(command)
                continue
            if command.argv[:2] == ("corral", "approve"):
                assert waiting is not None, "approve follows a run that waits for it"
                answered = tour.approve_once(command)
                assert answered.returncode == 0, answered.stdout + answered.stderr
                assert answered.stdout.startswith("approved: "), answered.stdout
                # The user presses Ctrl-C in the run's shell: an interrupted run, to resume.
                assert _interrupt(waiting) == 99
                waiting = None
                continue
            if command.argv[:2] == ("corral", "resume"):
                proc = tour.start(command)
                assert tour.approve_until_done(Command(("corral", "approve", "last")), proc) == 0
                continue
            result = tour.run(command)
            assert result.returncode == 0, f"{command.text}\n{result.stdout}{result.stderr}"
            _check_output(tour, command, result.stdout)
    assert waiting is None
    assert any(text.startswith("corral resume") for text in ran)
    assert any(text.startswith(APPROVAL_RUN) for text in ran)


def _check_output(tour: Tour, command: Command, stdout: str) -> None:
    if command.pipe:
        assert command.pipe[0] == "jq", f"the test knows jq pipes only: {command.pipe}"
        events = [json.loads(line) for line in stdout.splitlines()]
        assert events
        assert all(event["v"] == 1 for event in events)
        if shutil.which("jq"):
            piped = subprocess.run(
                ["jq", *command.pipe[1:]], input=stdout, capture_output=True, text=True, check=False
            )
            assert piped.returncode == 0, piped.stderr
    if command.redirect:
        target = tour.path / command.redirect
        target.write_text(stdout)
        if target.suffix == ".html":
            assert "<html" in stdout.lower()

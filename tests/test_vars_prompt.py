"""vars_prompt: asked on a real terminal (a pseudo-terminal the test drives), not asked
without one, checked by ``corral check``. The no-terminal answers are also compared with
ansible-playbook's in tests/compat/playbooks/77_vars_prompt.yml."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars_prompt:
    - name: release
      prompt: Which release
      default: "1.0"
      private: false
    - name: token
      prompt: API token
      confirm: true
  tasks:
    - debug:
        msg: "release {{ release }} with token {{ token }}"
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("site.yml", PLAYBOOK)
    return corral_project


class Terminal:
    """``corral ARGS`` with a pseudo-terminal as its controlling terminal and stdio."""

    def __init__(self, project: CorralProject, *args: str) -> None:
        self.master, slave = pty.openpty()

        def own_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "corral", *args],
            cwd=project.path,
            env={**os.environ, "NO_COLOR": "1", **project.env},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=own_terminal,  # noqa: PLW1509 - a test's own child, no threads
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; saw:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"the terminal closed before {text!r}; saw:\n{self.seen}"
                self.seen += chunk.decode(errors="replace")
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        rest = ""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk.decode(errors="replace")
        os.close(self.master)
        return self.proc.wait(timeout=60), self.seen + rest


def test_a_terminal_is_asked_and_a_private_answer_never_shown(project: CorralProject) -> None:
    term = Terminal(project, "run", "site.yml", "--output", "json")
    term.expect("Which release [1.0]: ")
    term.send("")  # the default
    term.expect("API token: ")
    term.send("s3cret-tok")
    term.expect("confirm API token: ")
    term.send("typo")
    term.expect("VALUES ENTERED DO NOT MATCH")
    term.expect("API token: ")
    term.send("s3cret-tok")
    term.expect("confirm API token: ")
    term.send("s3cret-tok")
    code, rest = term.finish()
    assert code == 0, rest
    assert "s3cret-tok" not in rest  # not echoed, not in any event
    events = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    (result,) = [e for e in events if e["event"] == "task_result"]
    assert result["result"]["msg"] == "release 1.0 with token ********"
    history = project.run("logs", "last", "--json")
    assert "s3cret-tok" not in history.stdout
    assert "release 1.0" in history.stdout


def test_without_a_terminal_defaults_and_extra_vars_answer(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-e", "token=given", "--output", "json")
    assert result.exit_code == 0, result.output
    (event,) = [e for e in result.json_lines() if e["event"] == "task_result"]
    assert event["result"]["msg"] == "release 1.0 with token given"
    assert result.stderr.splitlines()[0] == (
        "warning: not prompting for 'release' (site.yml:4:7): no terminal; "
        "its default is used, give it with -e release=VALUE"
    )
    assert "token" not in result.stderr  # given with -e: not a prompt


def test_check_knows_the_prompted_names_and_refuses_bad_entries(
    project: CorralProject,
) -> None:
    assert project.run("check", "site.yml").exit_code == 0
    project.write(
        "bad.yml",
        """
        - hosts: localhost
          vars_prompt:
            - name: pw
              prompt: Password
              encrypt: sha512_crypt
          tasks: []
        """,
    )
    refused = project.run("check", "bad.yml")
    assert refused.exit_code == 4
    assert refused.stderr.splitlines()[0] == (
        "error: bad.yml:3:7: vars_prompt 'pw': 'encrypt' is not supported"
    )

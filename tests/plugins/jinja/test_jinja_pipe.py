"""The pipe lookup: a shell command on the controller, from the playbook's directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.testing import CorralProject

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ [lookup('pipe', 'pwd'), lookup('pipe', printed)] }}"
      vars:
        printed: printf "a b\\n\\n"; echo x >&2
    - debug:
        msg: "{{ query('pipe', 'echo $GREETING', 'echo two') }}"
    - debug:
        msg: "{{ lookup('pipe', 'exit 3') }}"
"""


def test_pipe_runs_from_the_playbook_dir_and_strips(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path), "GREETING": "hi"})
    corral_project.write("sub/site.yml", PLAYBOOK)
    result = corral_project.run("run", "sub/site.yml", "--output", "json")
    assert result.exit_code == 2, result.output
    shown = [
        (e["status"], e["result"]["msg"])
        for e in result.json_lines()
        if e["event"] == "task_result"
    ]
    assert shown[0] == ("ok", [str(corral_project.path / "sub"), "a b"])
    assert shown[1] == ("ok", ["hi", "two"])
    assert shown[2][0] == "failed"
    assert "lookup_plugin.pipe(exit 3) returned 3" in shown[2][1]


def test_pipe_gives_up_after_its_timeout() -> None:
    templar = jinja_templar(search_paths=[Path.cwd()], environ={})
    with pytest.raises(TemplateError, match=r"pipe\(sleep 30\) timed out after 0.2 s"):
        templar.render_string("{{ lookup('pipe', 'sleep 30', timeout=0.2) }}", {})

"""``!unsafe`` values are kept as written and never templated, however they travel."""

from __future__ import annotations

import pytest

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: all
  gather_facts: false
  vars_files: [vars.yml]
  vars:
    raw: !unsafe "{{ lookup('env', 'HOME') }}"
    raw_list: !unsafe ["{{ a }}", "{% if x %}y{% endif %}"]
    joined: "said {{ raw }}"
  tasks:
    - set_fact: {copied: "{{ raw }}", prefixed: "x {{ from_file }}"}
    - set_fact: {copied_again: "{{ copied }}"}
    - shell: "printf '%s' {{ raw | quote }} > {{ out }}"
    - debug: {msg: "{{ item }}"}
      loop: "{{ raw_list }}"
    - assert:
        that:
          - raw == '{' ~ '{ lookup(' ~ "'env', 'HOME'" ~ ') }' ~ '}'
          - copied == raw and copied_again == raw
          - joined == 'said ' ~ raw
          - from_file.startswith('{' ~ '{ undefined')
          - prefixed == 'x ' ~ from_file
          - inv_raw.endswith('% endfor %' ~ '}')
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("site.yml", PLAYBOOK)
    corral_project.write("vars.yml", 'from_file: !unsafe "{{ undefined_anywhere }}"\n')
    corral_project.write(
        "hosts.yml",
        """
        all:
          hosts:
            localhost:
              ansible_connection: local
              inv_raw: !unsafe "{% for x in y %}{% endfor %}"
        """,
    )
    return corral_project


def test_unsafe_values_are_never_templated(project: CorralProject) -> None:
    out = project.path / "out.txt"
    result = project.run("run", "site.yml", "-i", "hosts.yml", "-e", f"out={out}", "-v")
    assert result.exit_code == 0, result.output
    assert out.read_text() == "{{ lookup('env', 'HOME') }}"
    assert '"msg": "{{ a }}"' in result.stdout
    assert '"msg": "{% if x %}y{% endif %}"' in result.stdout


def test_corral_check_accepts_unsafe_values_and_does_not_look_inside(
    project: CorralProject,
) -> None:
    result = project.run("check", "site.yml", "-i", "hosts.yml", "-e", "out=/dev/null")
    assert result.exit_code == 0, result.output
    assert "undefined_anywhere" not in result.output

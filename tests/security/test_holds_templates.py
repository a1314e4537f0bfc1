"""What holds in templates keeps holding: sandbox escapes fail the task, host output is data.

The Templar's own refusals are in ``tests/test_templating_errors.py``
(``test_sandbox_escapes_are_refused``); these tests add the escapes it does not list
and check each one end to end, as a playbook author would meet it: one clean task
failure (exit 2), the sandbox named, no traceback, and the payload never run.
"""

from __future__ import annotations

import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.testing import CorralProject

ESCAPES = [
    "''.__class__.__mro__",
    "''.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__",
    "lipsum.__globals__",
    "lipsum.__globals__['os'].system('touch PWNED')",
    "self.__init__.__globals__",
    "self._TemplateReference__context",
    "range.__self__",
    "x._private",
    "'{0.__class__}'.format(x)",
    "'{0.__class__.__init__.__globals__}'.format(x)",
    "namespace.__init__.__globals__",
]


@pytest.mark.parametrize(
    "text", ["lipsum.__globals__", "self.__init__.__globals__", "range.__self__"]
)
def test_the_templar_refuses_the_escapes_its_own_tests_do_not_list(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        jinja_templar().render_string("{{ " + text + " }}", {"x": "s"})
    assert caught.value.message.startswith("unsafe template operation refused")


def test_private_attributes_are_out_of_reach() -> None:
    class Holder:
        _private = "secret"

    with pytest.raises(TemplateError) as caught:
        jinja_templar().render_string("{{ x._private }}", {"x": Holder()})
    assert "secret" not in caught.value.message


def play(task: str) -> str:
    return f'- hosts: localhost\n  gather_facts: false\n  vars: {{x: "s"}}\n  tasks:\n{task}'


@pytest.mark.parametrize("text", ESCAPES)
def test_a_sandbox_escape_is_one_clean_task_failure(
    corral_project: CorralProject, text: str
) -> None:
    corral_project.write("site.yml", play(f'    - debug: {{msg: "{{{{ {text} }}}}"}}\n'))
    result = corral_project.run("run", "site.yml", "-i", "localhost,")
    # Refused when the playbook is loaded (exit 4, no host touched) where the attribute
    # is written in the template, else when the task renders (exit 2, that host failed).
    assert result.exit_code in (2, 4), result.output
    assert "unsafe template" in result.output, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert "<class" not in result.output
    assert "<module" not in result.output
    assert not (corral_project.path / "PWNED").exists()


def test_host_output_is_never_templated_again(corral_project: CorralProject) -> None:
    """A host that prints a template gets it back as text, however it is used afterwards."""
    payload = "{{ lookup('pipe', 'touch PWNED') }}{{ 'EVAL' ~ 'UATED' }}"
    corral_project.write("payload.txt", payload + "\n")
    corral_project.write(
        "site.yml",
        play(
            "    - command: cat payload.txt\n"
            "      register: out\n"
            "    - debug: {msg: '{{ out.stdout }}'}\n"
            "    - set_fact: {again: 'prefix {{ out.stdout }}'}\n"
            "    - debug: {var: again}\n"
            "    - debug: {msg: \"{{ out.stdout_lines | join(',') }}\"}\n"
            "    - copy: {content: '{{ again }}', dest: copied.txt}\n"
            "    - assert: {that: [\"out.stdout == lookup('file', 'payload.txt')\"]}\n"
        ),
    )
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    assert not (corral_project.path / "PWNED").exists()
    assert "EVALUATED" not in result.stdout
    assert (corral_project.path / "copied.txt").read_text() == "prefix " + payload
    messages = [e.get("result", {}).get("msg") for e in result.json_lines()]
    assert payload in messages

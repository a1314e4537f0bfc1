"""Dynamic ``include_tasks`` that include themselves end cleanly (issue 14, item 8).

A templated ``include_tasks: "{{ 'loop.yml' }}"`` inside ``loop.yml`` used to recurse
until Python's RecursionError (exit 1, a traceback). The include chain now carries
across dynamic includes: a file that is already being included fails the include for
that host, naming the chain of files, and the run goes on for the other hosts (exit 2).
"""

from __future__ import annotations

import time

from corral.testing import CliResult, CorralProject

HOSTS = "[all]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"


def run_play(corral_project: CorralProject, tasks: str, **files: str) -> CliResult:
    for name, text in files.items():
        corral_project.write(f"{name}.yml", text)
    corral_project.write(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        + "".join(f"    {line}\n" for line in tasks.strip("\n").splitlines()),
    )
    corral_project.write("hosts.ini", HOSTS)
    started = time.monotonic()
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert time.monotonic() - started < 60  # generous: it used to run ~1000 tasks first
    assert "Traceback" not in result.output
    assert "RecursionError" not in result.output
    return result


def test_a_templated_self_include_fails_the_host_with_the_chain(
    corral_project: CorralProject,
) -> None:
    result = run_play(
        corral_project,
        """
        - include_tasks: "{{ 'loop.yml' }}"
        - debug: {msg: never}
        """,
        loop="""
        - debug: {msg: "in loop"}
        - include_tasks: "{{ 'loop.yml' }}"
        """,
    )
    assert result.exit_code == 2, result.output
    assert "include cycle: loop.yml -> loop.yml" in result.output
    assert result.output.count("in loop") == 2  # once per host, then the cycle stops it
    assert "never" not in result.output
    for host in ("h1", "h2"):
        result.assert_recap(host, failed=1)


def test_a_cycle_through_two_files_names_both(corral_project: CorralProject) -> None:
    result = run_play(
        corral_project,
        """
        - include_tasks: "{{ 'a' }}.yml"
        """,
        a="- include_tasks: \"{{ 'b' }}.yml\"\n",
        b="- include_tasks: \"{{ 'a' }}.yml\"\n",
    )
    assert result.exit_code == 2, result.output
    assert "include cycle: a.yml -> b.yml -> a.yml" in result.output


def test_a_cycle_through_a_plain_include_inside_a_dynamic_one(
    corral_project: CorralProject,
) -> None:
    # b.yml's name has no template, so it is loaded with a.yml; the cycle closes in it.
    result = run_play(
        corral_project,
        """
        - include_tasks: "{{ 'a' }}.yml"
        """,
        a="- include_tasks: b.yml\n",
        b="- include_tasks: \"{{ 'a' }}.yml\"\n",
    )
    assert result.exit_code == 2, result.output
    assert "include cycle: a.yml -> b.yml -> a.yml" in result.output


def test_only_the_host_that_recurses_fails(corral_project: CorralProject) -> None:
    result = run_play(
        corral_project,
        """
        - include_tasks: "{{ 'loop.yml' }}"
        - debug: {msg: "after {{ inventory_hostname }}"}
        """,
        loop="""
        - include_tasks: "{{ 'loop.yml' }}"
          when: inventory_hostname == 'h1'
        """,
    )
    assert result.exit_code == 2, result.output
    result.assert_recap("h1", failed=1)
    result.assert_recap("h2", failed=0)
    assert "after h2" in result.output
    assert "after h1" not in result.output


def test_a_rescue_catches_the_failed_include(corral_project: CorralProject) -> None:
    result = run_play(
        corral_project,
        """
        - block:
            - include_tasks: "{{ 'loop.yml' }}"
          rescue:
            - debug: {msg: "rescued {{ ansible_failed_result.msg }}"}
        """,
        loop="- include_tasks: \"{{ 'loop.yml' }}\"\n",
    )
    assert result.exit_code == 0, result.output
    assert "rescued " in result.output
    result.assert_recap("h1", rescued=1, failed=0)


def test_the_same_file_in_sequence_with_different_vars_still_works(
    corral_project: CorralProject,
) -> None:
    result = run_play(
        corral_project,
        """
        - include_tasks: "{{ 'step.yml' }}"
          vars: {n: 1}
        - include_tasks: "{{ 'step.yml' }}"
          vars: {n: 2}
        - include_tasks: "{{ 'step' }}.yml"
          loop: [3, 4, 5]
          loop_control: {loop_var: n}
        - include_tasks: step.yml
          vars: {n: 6}
        """,
        step='- debug: {msg: "step {{ n }} of {{ inventory_hostname }}"}\n',
    )
    assert result.exit_code == 0, result.output
    for n in range(1, 7):
        assert f"step {n} of h1" in result.output
        assert f"step {n} of h2" in result.output


def test_nesting_deeper_than_the_limit_fails_the_host(corral_project: CorralProject) -> None:
    # Distinct files, so no cycle: only the nesting limit (64 levels) stops the chain.
    files = {f"l{i}": f"- include_tasks: \"{{{{ 'l{i + 1}' }}}}.yml\"\n" for i in range(80)}
    result = run_play(corral_project, "- include_tasks: \"{{ 'l0' }}.yml\"\n", **files)
    assert result.exit_code == 2, result.output
    assert "includes nested deeper than 64 levels" in result.output
    assert "l0.yml -> l1.yml -> ... -> l63.yml -> l64.yml" in result.output


def test_nesting_under_the_limit_works(corral_project: CorralProject) -> None:
    files = {f"l{i}": f"- include_tasks: \"{{{{ 'l{i + 1}' }}}}.yml\"\n" for i in range(40)}
    files["l40"] = '- debug: {msg: "bottom reached"}\n'
    result = run_play(corral_project, "- include_tasks: \"{{ 'l0' }}.yml\"\n", **files)
    assert result.exit_code == 0, result.output
    assert result.output.count("bottom reached") == 2

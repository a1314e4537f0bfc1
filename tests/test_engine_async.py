"""``async`` + ``poll`` and ``async_status`` end to end, on the local connection.

Jobs keep their files under ``ansible_async_dir``, set here to the project's own
directory so nothing is left in the real home directory.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def project(corral_project):
    jobs = corral_project.path / "jobs"
    corral_project.write(
        "hosts.yml",
        f"all:\n  hosts:\n    h1: {{ansible_connection: local, ansible_async_dir: '{jobs}'}}\n",
    )
    return corral_project


def run_json(project, tasks: str):
    project.write(
        "site.yml",
        "- hosts: h1\n  gather_facts: false\n  tasks:\n"
        + "\n".join("    " + line for line in tasks.strip("\n").splitlines()),
    )
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json")
    return result, result.json_lines()


def task_result(events, task: str) -> dict:
    return next(e for e in events if e["event"] == "task_result" and e["task"] == task)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ")[-1][0] != "Z"


def test_poll_waits_for_the_job_and_registers_its_output(project) -> None:
    result, events = run_json(
        project,
        """
- name: job
  shell: "echo out; echo err >&2; exit 0"
  async: 30
  poll: 1
  register: job
""",
    )
    assert result.exit_code == 0, result.output
    job = task_result(events, "job")
    assert job["status"] == "changed"
    shape = job["result"]
    assert (shape["stdout"], shape["stderr"], shape["rc"]) == ("out", "err", 0)
    assert shape["finished"] is True
    assert shape["ansible_job_id"].startswith("j")
    assert shape["results_file"] == str(project.path / "jobs" / shape["ansible_job_id"])
    # As Ansible: a job that was waited for leaves no status file behind.
    assert list((project.path / "jobs").iterdir()) == []


def test_a_job_over_its_async_limit_fails_and_is_killed(project) -> None:
    pidfile = project.path / "pid"
    result, events = run_json(
        project,
        f"""
- name: slow
  shell: "echo $$ > {pidfile}; exec sleep 60"
  async: 1
  poll: 1
""",
    )
    assert result.exit_code == 2
    slow = task_result(events, "slow")
    assert slow["status"] == "failed"
    assert slow["result"]["msg"] == "Timeout exceeded"
    assert not alive(int(pidfile.read_text()))


def test_poll_0_starts_the_job_and_async_status_collects_it(project) -> None:
    result, events = run_json(
        project,
        """
- name: start
  shell: "sleep 1; echo done"
  async: 30
  poll: 0
  register: job
- name: wait
  async_status: {jid: "{{ job.ansible_job_id }}"}
  register: status
  until: status.finished
  retries: 60
  delay: 0.5
- name: clean
  async_status: {jid: "{{ job.ansible_job_id }}", mode: cleanup}
- name: gone
  async_status: {jid: "{{ job.ansible_job_id }}"}
  ignore_errors: true
""",
    )
    assert result.exit_code == 0, result.output
    start = task_result(events, "start")
    assert start["status"] == "changed"
    assert start["result"]["started"] is True
    assert start["result"]["finished"] is False
    wait = task_result(events, "wait")["result"]
    assert (wait["stdout"], wait["rc"], wait["cmd"]) == ("done", 0, "sleep 1; echo done")
    assert wait["finished"] is True
    assert task_result(events, "clean")["result"]["erased"] == start["result"]["results_file"]
    gone = task_result(events, "gone")
    assert gone["status"] == "ignored"
    assert gone["result"]["msg"] == "could not find job"


def test_a_background_job_is_killed_at_its_limit_without_the_controller(project) -> None:
    pidfile = project.path / "pid"
    result, events = run_json(
        project,
        f"""
- name: start
  shell: "echo $$ > {pidfile}; exec sleep 60"
  async: 1
  poll: 0
  register: job
- name: wait
  async_status: {{jid: "{{{{ job.ansible_job_id }}}}"}}
  register: status
  until: status.finished
  retries: 60
  delay: 0.5
  ignore_errors: true
""",
    )
    assert result.exit_code == 0, result.output
    wait = task_result(events, "wait")
    assert wait["status"] == "ignored"
    assert wait["result"]["msg"] == "Timeout exceeded"
    assert not alive(int(pidfile.read_text()))


def test_a_failed_job_fails_async_status_even_when_until_is_met(project) -> None:
    result, events = run_json(
        project,
        """
- name: start
  command: "false"
  async: 30
  poll: 0
  register: job
- name: wait
  async_status: {jid: "{{ job.ansible_job_id }}"}
  register: status
  until: status.finished
  retries: 60
  delay: 0.5
""",
    )
    assert result.exit_code == 2
    wait = task_result(events, "wait")
    assert wait["status"] == "failed"
    assert wait["result"]["rc"] == 1
    assert wait["result"]["msg"] == "non-zero return code"


def test_until_met_keeps_a_failed_result_failed_as_in_ansible(project) -> None:
    result, events = run_json(
        project,
        """
- name: check
  command: "false"
  register: out
  until: out.rc == 1
  retries: 2
  delay: 0
  ignore_errors: true
""",
    )
    assert result.exit_code == 0, result.output
    check = task_result(events, "check")
    assert check["status"] == "ignored"
    assert check["result"]["failed"] is True


def test_async_with_a_step_that_runs_no_command_runs_it_within_the_limit(project) -> None:
    result, events = run_json(
        project,
        """
- name: wait
  wait_for: {timeout: 30, path: /nonexistent-corral-path}
  async: 1
  poll: 1
""",
    )
    assert result.exit_code == 2
    wait = task_result(events, "wait")
    assert wait["result"]["msg"] == "async task did not complete within the requested time - 1s"


def test_async_in_a_loop_starts_one_job_per_item(project) -> None:
    result, events = run_json(
        project,
        """
- name: start
  command: "echo {{ item }}"
  async: 30
  poll: 0
  loop: [a, b]
  register: jobs
- name: wait
  async_status: {jid: "{{ item.ansible_job_id }}"}
  loop: "{{ jobs.results }}"
  register: done
  until: done.finished
  retries: 60
  delay: 0.5
""",
    )
    assert result.exit_code == 0, result.output
    items = task_result(events, "wait")["result"]["results"]
    assert [i["stdout"] for i in items] == ["a", "b"]


def test_an_async_dir_set_at_run_time_is_used_by_the_job_and_async_status(project) -> None:
    elsewhere = project.path / "other-jobs"
    result, events = run_json(
        project,
        f"""
- set_fact: {{ansible_async_dir: "{elsewhere}"}}
- name: job
  shell: "echo hi"
  async: 30
  poll: 0
  register: job
- name: status
  async_status: {{jid: "{{{{ job.ansible_job_id }}}}"}}
  register: status
  until: status.finished
  retries: 50
  delay: 0.1
""",
    )
    assert result.exit_code == 0, result.output
    assert task_result(events, "status")["result"]["stdout"] == "hi"
    assert any(elsewhere.iterdir())  # the job's files are where set_fact said
    assert not any("Verbatim" in p.name for p in project.path.iterdir())

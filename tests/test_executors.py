"""Executors: the built-in ``local``, a third party's through the hook, and choosing one."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from corral import ExecutorType, UnitWork, hookimpl
from corral.engine.results import UnitResult
from corral.testing.fixtures import CorralProject

HOSTS = "[sim]\nn[1:6] ansible_connection=simulated corral_simulated_rtt=0.001\n"

PLAYBOOK = """
- hosts: sim
  gather_facts: false
  serial: 4
  tasks:
    - command: echo one
      register: one
    - debug: {msg: "{{ one.stdout }}"}
      run_once: true
    - copy: {content: "x\\n", dest: /tmp/x}
      notify: done
  handlers:
    - name: done
      command: echo handled
"""


class RecordingExecutor:
    """Runs each unit here, one after the other, and writes down what it was given."""

    def __init__(self, log: list[tuple[str, str, bool]], closed: list[bool]) -> None:
        self.log = log
        self.closed = closed

    def run_units(self, work: Sequence[UnitWork]) -> Iterator[tuple[str, UnitResult]]:
        for unit in work:
            self.log.append((unit.host, unit.task.name, unit.handler))
            yield unit.host, unit.here()

    def close(self) -> None:
        self.closed.append(True)


class RecordingPlugin:
    def __init__(self) -> None:
        self.log: list[tuple[str, str, bool]] = []
        self.closed: list[bool] = []

    @hookimpl
    def corral_register_executors(self, register: Any) -> None:
        register(
            ExecutorType(
                name="recording",
                open=lambda run: RecordingExecutor(self.log, self.closed),
                description="one unit at a time, written down",
            )
        )


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    return corral_project


def _results(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted(
        (e["host"], e["task"], e["status"]) for e in events if e["event"] == "task_result"
    )


@pytest.mark.parametrize("how", ["option", "environment"])
def test_hook_corral_register_executors(project: CorralProject, how: str) -> None:
    """A plugin's executor, chosen by option or environment, gets every unit of the run."""
    plugin = RecordingPlugin()
    project.plugins.append(plugin)
    argv = ["run", "site.yml", "-i", "hosts.ini", "--output", "json"]
    local = project.run(*argv)
    if how == "option":
        chosen = project.run(*argv, "--executor", "recording")
    else:
        chosen = project.run(*argv, env={"CORRAL_EXECUTOR": "recording"})
    assert chosen.exit_code == local.exit_code == 0, chosen.output
    assert _results(chosen.json_lines()) == _results(local.json_lines())
    # Every unit reached the executor: 6 hosts x 2 tasks, run_once on the first host of
    # each batch (n1, n5), and the handler on every host.
    assert sorted(plugin.log) == sorted(
        [(f"n{i}", "command", False) for i in range(1, 7)]
        + [("n1", "debug", False), ("n5", "debug", False)]
        + [(f"n{i}", "copy", False) for i in range(1, 7)]
        + [(f"n{i}", "done", True) for i in range(1, 7)]
    )
    assert plugin.closed == [True]


def test_an_unknown_executor_is_a_usage_error_before_anything_runs(
    project: CorralProject,
) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--executor", "celerz")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == (
        "error: no executor 'celerz' is installed (installed: celery, local, processes)"
    )
    assert "Traceback" not in result.output
    assert "TASK" not in result.stdout


def test_corral_plugins_lists_the_executors(project: CorralProject) -> None:
    project.plugins.append(RecordingPlugin())
    result = project.run("plugins", "--json")
    registered = {r["name"]: r["executors"] for r in json.loads(result.stdout)}
    assert registered["executors"] == ["local", "processes"]
    assert registered["celery"] == ["celery"]
    assert ["recording"] in registered.values()


def test_the_processes_executor_gives_the_same_results_as_local(
    corral_project: CorralProject,
) -> None:
    from test_engine_hub import HOSTS as HUB_HOSTS
    from test_engine_hub import PLAYBOOK as HUB_PLAYBOOK
    from test_engine_hub import _shape

    corral_project.write("hosts.ini", HUB_HOSTS)
    corral_project.write("site.yml", HUB_PLAYBOOK)
    argv = ("run", "site.yml", "-i", "hosts.ini", "--forks", "20", "--output", "json")
    local = corral_project.run(*argv)
    spread = corral_project.run_subprocess(
        *argv, "--executor", "processes", env={"CORRAL_PROCESSES": "2"}, timeout=120
    )
    assert spread.exit_code == local.exit_code == 3, spread.output[-3000:]
    assert spread.recap() == local.recap()
    assert _shape(spread.json_lines()) == _shape(local.json_lines())


def test_a_bad_process_count_is_a_usage_error(project: CorralProject) -> None:
    result = project.run(
        "run", "site.yml", "-i", "hosts.ini", "--executor", "processes",
        env={"CORRAL_PROCESSES": "many"},
    )  # fmt: skip
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == (
        "error: CORRAL_PROCESSES must be a whole number of processes, not 'many'"
    )


def test_a_template_reading_hostvars_makes_every_shard_carry_every_host(tmp_path: Any) -> None:
    from corral.engine.shards import needs_all_hosts
    from corral.playbook.model import Playbook

    class Hosts:
        hosts = ("a", "b")

        @staticmethod
        def host_vars_view(name: str) -> dict[str, str]:
            return {"ip": "10.0.0.1"}

    role_tasks = tmp_path / "roles" / "etc_hosts" / "tasks" / "main.yml"
    role_tasks.parent.mkdir(parents=True)
    role_tasks.write_text("- template: {src: hosts.j2, dest: /etc/hosts}\n")
    template = tmp_path / "roles" / "etc_hosts" / "templates" / "hosts.j2"
    template.parent.mkdir()
    template.write_text("{% for h in groups.all %}{{ h }}{% endfor %}\n")
    playbook = Playbook(path=tmp_path / "site.yml", plays=(), text="- hosts: all\n",
                        files=(role_tasks,))  # fmt: skip
    assert not needs_all_hosts(playbook, Hosts())  # type: ignore[arg-type]
    template.write_text("{% for h in groups.all %}{{ hostvars[h].ip }}{% endfor %}\n")
    assert needs_all_hosts(playbook, Hosts())  # type: ignore[arg-type]

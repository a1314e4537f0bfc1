"""The variable layers of corral.engine.variables: Ansible's precedence, params apart from -e."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from corral import CommandResult, ConnectionSetting, ConnectionType, hookimpl
from corral.engine.hosts import HostState
from corral.engine.variables import RunVariables, host_scope, play_scope, task_variables

# The layers, lowest precedence first, as the table in corral.engine.variables lists them.
# Each entry sets NAME in one layer; facts are injected as ``ansible_<fact>``.
NAME = "ansible_x"
LAYERS = (
    "inventory",
    "facts",
    "play",
    "task",
    "include",
    "set_fact",
    "params",
    "extra",
    "magic",
)


def _build(set_in: tuple[str, ...]) -> dict[str, Any]:
    """The variables a task sees when each layer in ``set_in`` sets NAME to the layer's name."""
    state = HostState("web1", {"inventory_hostname": "web1"})
    layer: dict[str, dict[str, Any]] = {name: {} for name in LAYERS}
    for name in set_in:
        layer[name][NAME] = name
    state.inventory_vars.update(layer["inventory"])
    if "facts" in set_in:
        state.facts["x"] = "facts"
    state.host_vars.update(layer["set_fact"])
    run = RunVariables(params=layer["params"], extra_vars=layer["extra"])
    return task_variables(
        state,
        run,
        play_vars=layer["play"],
        task_vars=layer["task"],
        include_vars=layer["include"],
        magic=layer["magic"],
    )


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # run-time data comes wrapped in Verbatim


@pytest.mark.parametrize(
    ("winner", "below"),
    [(name, LAYERS[:index]) for index, name in enumerate(LAYERS)],
)
def test_each_layer_overrides_every_layer_below_it(winner: str, below: tuple[str, ...]) -> None:
    variables = _build((*below, winner))
    assert _plain(variables[NAME]) == winner


@pytest.mark.parametrize("loser", LAYERS[:-1])
def test_a_lower_layer_never_overrides_a_higher_one(loser: str) -> None:
    higher = LAYERS[LAYERS.index(loser) + 1 :]
    for winner in higher:
        assert _plain(_build((loser, winner))[NAME]) == winner


def test_extra_vars_win_over_everything_but_magic() -> None:
    variables = _build(LAYERS[:-1])
    assert variables[NAME] == "extra"


def test_inventory_hostname_is_the_host_whatever_a_layer_says() -> None:
    state = HostState("web1", {"inventory_hostname": "web1"})
    run = RunVariables(extra_vars={"inventory_hostname": "other"})
    variables = task_variables(state, run, play_vars={}, task_vars={}, include_vars={}, magic={})
    assert variables["inventory_hostname"] == "web1"


def test_params_and_extra_vars_are_kept_apart() -> None:
    params = {"version": "1.0", "region": "eu"}
    extra_vars = {"version": "2.0"}
    run = RunVariables(params=params, extra_vars=extra_vars)
    assert run.params == {"version": "1.0", "region": "eu"}
    assert run.extra_vars == {"version": "2.0"}
    assert run.top == {"version": "2.0", "region": "eu"}  # -e over -p, stacked once


def test_host_scope_and_play_scope_follow_the_same_order() -> None:
    state = HostState("web1", {"who": "inventory", "color": "blue"})
    state.host_vars["who"] = "set_fact"
    run = RunVariables(params={"color": "param"}, extra_vars={"size": "extra"})
    scope = {k: _plain(v) for k, v in host_scope(state, run).items()}
    assert scope == {"who": "set_fact", "color": "param", "size": "extra"}
    assert play_scope({"size": "play", "n": 1}, run) == {"size": "extra", "n": 1, "color": "param"}


PARAMS_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  params:
    version: {type: string}
    region: {type: string, default: eu}
  vars: {version: play, region: play}
  tasks:
    - debug: {msg: "{{ version }} {{ region }}"}
"""


def test_cli_params_and_extra_vars_reach_the_task_in_order(corral_project) -> None:
    corral_project.write("site.yml", PARAMS_PLAYBOOK)
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    result = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", "--output", "json",
        "-p", "version=1.0", "-e", "version=2.0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = [e["result"]["msg"] for e in result.json_lines() if e["event"] == "task_result"]
    assert shown == ["2.0 eu"]  # -e over -p over play vars; a param's default counts too


def test_prepared_run_keeps_params_out_of_the_extra_vars(corral_project) -> None:
    from pathlib import Path

    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.plugins import build_registry, make_plugin_manager

    corral_project.write("site.yml", PARAMS_PLAYBOOK)
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    root = corral_project.path
    options = RunOptions(extra_vars={"version": "2.0"})
    registry = build_registry(make_plugin_manager({}))
    prepared = prepare_run(
        Path(root / "site.yml"), [str(root / "hosts.ini")], registry, options, {},
        params={"version": "1.0"},
    )  # fmt: skip
    run_options = prepared.options_for(options)
    assert run_options.extra_vars == {"version": "2.0"}
    # -e gives a declared param its value too (and wins over -p): docs/playbooks.md.
    assert run_options.params == {"version": "2.0", "region": "eu"}


class _Recorder:
    """A connection type that records the variables it was built with."""

    def __init__(self) -> None:
        self.seen: list[Mapping[str, Any]] = []

    @hookimpl
    def corral_register_connections(self, register: Any) -> None:
        def connect(host: str, variables: Mapping[str, Any]) -> Any:
            self.seen.append(dict(variables))
            return _Conn()

        settings = (ConnectionSetting("rec_target", "where to go"),)
        register(ConnectionType(name="recording", connect=connect, settings=settings))


class _Conn:
    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, *args: Any, **kwargs: Any) -> CommandResult:
        return CommandResult(rc=0, stdout="ok")


def test_connection_settings_are_rendered_from_the_connection_type(corral_project) -> None:
    recorder = _Recorder()
    corral_project.plugins.append(recorder)
    inventory = {
        "all": {
            "hosts": {
                "h1": {
                    "ansible_connection": "recording",
                    "base": "db",
                    "ansible_host": "{{ base }}.internal",  # generic: every connection
                    "rec_target": "{{ base }}:5432",  # declared by the connection type
                    "unrelated": "{{ base }}",  # not a setting: left as written
                }
            }
        }
    }
    corral_project.write("hosts.yml", json.dumps(inventory))
    corral_project.write("site.yml", "- hosts: all\n  tasks:\n    - command: echo hi\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json")
    assert result.exit_code == 0, result.output
    (seen,) = recorder.seen
    assert seen["ansible_host"] == "db.internal"
    assert seen["rec_target"] == "db:5432"
    assert seen["unrelated"] == "{{ base }}"

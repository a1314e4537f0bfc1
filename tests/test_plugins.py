"""The plugin system: loading, switches, registration hooks, clashes, failures."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from corral import (
    ConnectionType,
    InventorySourceType,
    RunInfo,
    StepResult,
    StepType,
    TemplateFunction,
    TriggerType,
    hookimpl,
)
from corral.engine.options import RunOptions
from corral.playbook.templating.templar import Templar
from corral.plugins import build_registry, make_plugin_manager

SCHEMA = {"type": "object", "properties": {}}


def _noop(ctx: Any, args: Mapping[str, Any]) -> StepResult:
    return StepResult()


class StepsPlugin:
    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def corral_register_steps(self, register):
        for name in self.names:
            register(StepType(name=name, run=_noop, schema=SCHEMA))


def plugin_records(result) -> dict[str, dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_hook_corral_register_steps(corral_project):
    corral_project.plugins.append(StepsPlugin("acme.deploy", "acme.check"))
    records = plugin_records(corral_project.run("plugins", "--json"))
    (mine,) = [r for r in records.values() if r["name"].endswith("StepsPlugin")]
    assert mine["steps"] == ["acme.check", "acme.deploy"]
    assert mine["hooks"] == ["corral_register_steps"]


def test_hook_corral_register_connections(corral_project):
    class Plugin:
        @hookimpl
        def corral_register_connections(self, register):
            register(ConnectionType(name="acme", connect=lambda host, variables: None))  # type: ignore[arg-type,return-value]

    corral_project.plugins.append(Plugin())
    records = plugin_records(corral_project.run("plugins", "--json"))
    assert any(r["connections"] == ["acme"] for r in records.values())


def test_hook_corral_register_triggers(corral_project):
    class Plugin:
        @hookimpl
        def corral_register_triggers(self, register):
            register(TriggerType(name="acme.timer", watch=lambda ctx, args: None, schema=SCHEMA))

    corral_project.plugins.append(Plugin())
    records = plugin_records(corral_project.run("plugins", "--json"))
    assert any(r["triggers"] == ["acme.timer"] for r in records.values())


def test_hook_corral_register_inventory_sources(corral_project):
    class Plugin:
        @hookimpl
        def corral_register_inventory_sources(self, register):
            register(
                InventorySourceType(
                    name="acme.cmdb",
                    verify=lambda s: s.startswith("cmdb:"),
                    parse=lambda s, b: None,
                )
            )

    corral_project.plugins.append(Plugin())
    records = plugin_records(corral_project.run("plugins", "--json"))
    assert any(r["inventory_sources"] == ["acme.cmdb"] for r in records.values())


def test_hook_corral_register_filters(corral_project):
    class Plugin:
        @hookimpl
        def corral_register_filters(self, register):
            register(TemplateFunction(name="acme_upper", function=str.upper))
            register(TemplateFunction(name="acme_even", function=lambda n: n % 2 == 0, kind="test"))
            register(TemplateFunction(name="acme_cmdb", function=lambda *t: t, kind="lookup"))

    corral_project.plugins.append(Plugin())
    records = plugin_records(corral_project.run("plugins", "--json"))
    (mine,) = [r for r in records.values() if r["filters"] and not r["builtin"]]
    assert (mine["filters"], mine["tests"], mine["lookups"]) == (
        ["acme_upper"],
        ["acme_even"],
        ["acme_cmdb"],
    )


def test_hook_corral_register_commands(corral_project):
    class Plugin:
        @hookimpl
        def corral_register_commands(self, cli):
            @cli.command()
            @click.argument("name")
            def wave(name):
                """Wave at someone."""
                click.echo(f"waving at {name}")
                return 0

    corral_project.plugins.append(Plugin())
    result = corral_project.run("wave", "ops")
    assert (result.exit_code, result.stdout) == (0, "waving at ops\n")
    assert "Wave at someone." in corral_project.run("--help").stdout


def test_hook_corral_event():
    seen: list[Mapping[str, Any]] = []

    class Observer:
        @hookimpl
        def corral_event(self, event):
            seen.append(event)

    class Broken:
        @hookimpl
        def corral_event(self, event):
            raise RuntimeError("observer bug")

    class WithRun:
        @hookimpl
        def corral_event(self, event, run):
            seen.append({"run_id": run.run_id, "rendered": run.render("{{ 1 + 1 }}")})

    pm = make_plugin_manager({"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"})
    pm.register(Observer(), name="observer")
    pm.register(Broken(), name="broken")
    pm.register(WithRun(), name="with-run")
    run = RunInfo("r1", Path("site.yml"), RunOptions(), Templar())
    errors = build_registry(pm).emit({"event": "run_start", "run_id": "r1"}, run)
    # An implementation taking only ``event`` (the 0.1 signature) still gets it.
    assert seen == [{"event": "run_start", "run_id": "r1"}, {"run_id": "r1", "rendered": 2}]
    assert [(name, str(exc)) for name, exc in errors] == [("broken", "observer bug")]


def test_two_plugins_registering_one_step_name_is_an_error_naming_both(corral_project):
    corral_project.plugins += [StepsPlugin("deploy"), StepsPlugin("deploy")]
    result = corral_project.run("plugins")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: step type 'deploy' is registered by both plugin "
        "'inline-0-StepsPlugin' and plugin 'inline-1-StepsPlugin'"
    )
    assert "Traceback" not in result.output
    assert "CORRAL_DISABLE_PLUGINS=inline-1-StepsPlugin" in result.stderr


def test_a_typo_in_a_hook_name_fails_loudly(corral_project):
    class Typo:
        @hookimpl
        def corral_register_stepz(self, register):
            pass

    corral_project.plugins.append(Typo())
    result = corral_project.run("plugins")
    assert result.exit_code == 1
    assert "'inline-0-Typo' implements an unknown hook" in result.stderr
    assert "corral_register_stepz" in result.stderr


def test_disable_autoload_loads_only_named_plugins(corral_project, tmp_path):
    (tmp_path / "acme_plugin.py").write_text(
        textwrap.dedent(
            """
            from corral import StepResult, StepType, hookimpl

            @hookimpl
            def corral_register_steps(register):
                register(StepType(name="acme.ping", run=lambda c, a: StepResult(), schema={}))
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        env = {"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1", "CORRAL_PLUGINS": "acme_plugin"}
        records = plugin_records(corral_project.run("plugins", "--json", env=env))
        assert list(records) == ["acme_plugin"]
        assert records["acme_plugin"]["steps"] == ["acme.ping"]
        nothing = corral_project.run(
            "plugins", "--json", env={"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"}
        )
        assert plugin_records(nothing) == {}
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("acme_plugin", None)


def test_a_missing_module_in_corral_plugins_is_a_clear_error(corral_project):
    env = {"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1", "CORRAL_PLUGINS": "no_such_plugin_xyz"}
    result = corral_project.run("plugins", env=env)
    assert result.exit_code == 1
    assert "plugin 'no_such_plugin_xyz' named in CORRAL_PLUGINS failed to load" in result.stderr
    assert "Traceback" not in result.output


def test_builtins_come_through_entry_points_and_can_be_disabled(corral_project):
    everything = plugin_records(corral_project.run("plugins", "--json"))
    builtins = [name for name, r in everything.items() if r["builtin"]]
    assert builtins, "the built-in plugins are registered as entry points"
    disabled = plugin_records(
        corral_project.run("plugins", "--json", env={"CORRAL_DISABLE_PLUGINS": builtins[0]})
    )
    assert builtins[0] not in disabled
    assert set(disabled) == set(everything) - {builtins[0]}


def test_hook_trace_prints_hook_calls(corral_project):
    corral_project.plugins.append(StepsPlugin("traced"))
    result = corral_project.run("plugins", env={"CORRAL_TRACE_PLUGINS": "1"})
    assert result.exit_code == 0
    assert "corral trace: corral_register_steps -> inline-0-StepsPlugin" in result.stderr


def test_the_core_runs_with_no_plugins_at_all(corral_project):
    """The core imports nothing from corral_plugins: with autoload off it has no step types."""
    pm = make_plugin_manager({"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"})
    registry = build_registry(pm)
    assert (registry.steps, registry.connections, registry.plugins) == ({}, {}, ())
    result = corral_project.run("plugins", "--json", env={"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_no_core_module_names_the_builtin_plugins_package():
    """The core neither imports nor refers to corral_plugins: built-ins are plugins like any."""
    import corral

    core = Path(corral.__file__).parent
    naming = [
        f"{path.relative_to(core)}:{number}"
        for path in sorted(core.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "corral_plugins" in line
    ]
    assert naming == []


def test_loading_every_plugin_imports_neither_pytest_nor_the_regex_engines():
    """Every command loads all entry points: what they import is every command's start-up."""
    code = (
        "import sys\n"
        "from corral.plugins import build_registry, make_plugin_manager\n"
        "build_registry(make_plugin_manager({}))\n"
        "print(sorted(m for m in ('pytest', 're2', 'regex') if m in sys.modules))\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"

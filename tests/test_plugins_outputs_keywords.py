"""Outputs and play keywords from plugins, and what ``corral_event`` learns through ``run``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from corral import (
    KeywordValue,
    OutputOptions,
    OutputType,
    PlayKeyword,
    RunInfo,
    TemplateFunction,
    hookimpl,
)
from corral.plugins import build_registry, make_plugin_manager

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
{extra}  tasks:
    - debug: {{msg: hi}}
"""


def write_project(project, extra: str = "") -> None:
    project.write("site.yml", PLAYBOOK.format(extra=extra))
    project.write("hosts.ini", "localhost ansible_connection=local\n")


class AcmeOutput:
    """A third-party output: one ``acme> KIND`` line per event."""

    def __init__(self) -> None:
        self.options: list[OutputOptions] = []

    def writer(self, options: OutputOptions):
        self.options.append(options)

        def write(event: Mapping[str, Any]) -> None:
            sys.stdout.write(f"acme> {event['event']}\n")

        return write

    @hookimpl
    def corral_register_outputs(self, register):
        register(OutputType(name="acme", factory=self.writer, description="terse lines"))


def test_hook_corral_register_outputs(corral_project):
    output = AcmeOutput()
    corral_project.plugins.append(output)
    write_project(corral_project)
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "acme", "-v")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "acme> run_start"
    assert result.stdout.splitlines()[-1] == "acme> recap"
    assert "acme> task_result" in result.stdout.splitlines()
    assert "PLAY RECAP" not in result.stdout
    (options,) = output.options
    assert (options.verbosity, options.buffered) == (1, True)
    records = json.loads(corral_project.run("plugins", "--json").stdout)
    assert [r["outputs"] for r in records if r["name"] == "inline-0-AcmeOutput"] == [["acme"]]


def test_the_builtin_outputs_are_plugins_listed_by_corral_plugins(corral_project):
    records = {r["name"]: r for r in json.loads(corral_project.run("plugins", "--json").stdout)}
    assert records["output"]["outputs"] == ["console", "json"]
    assert records["output"]["builtin"] is True
    assert records["notify"]["play_keywords"] == ["notifications"]
    table = corral_project.run("plugins").stdout
    assert "outputs (2): console, json" in table


def test_an_unknown_output_is_a_usage_error_naming_the_registered_ones(corral_project):
    write_project(corral_project)
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "jsn")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == (
        "error: unknown output 'jsn'; registered outputs: console, json"
    )
    assert "did you mean 'json'?" in result.stderr


def test_a_second_output_of_one_name_is_an_error_naming_both_plugins(corral_project):
    corral_project.plugins += [AcmeOutput(), AcmeOutput()]
    result = corral_project.run("plugins")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: output 'acme' is registered by both plugin "
        "'inline-0-AcmeOutput' and plugin 'inline-1-AcmeOutput'"
    )


def test_without_an_output_plugin_a_run_is_a_one_line_usage_error(corral_project):
    write_project(corral_project)
    env = {"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", env=env)
    assert result.exit_code == 5
    assert (
        result.stderr.splitlines()[0]
        == "error: unknown output 'console': no output plugin is loaded"
    )
    assert "Traceback" not in result.output
    # Loading only the output plugin is enough for the output (the playbook then lacks steps).
    with_output = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", env={**env, "CORRAL_PLUGINS": "output"}
    )
    assert "unknown output" not in with_output.stderr


class OwnerKeyword:
    """A third-party play keyword, ``owner:``, read back in ``corral_event`` through ``run``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...], bool, Any]] = []

    @staticmethod
    def validate(value: KeywordValue) -> str:
        if "@" not in value.value:
            raise value.error(f"owner {value.value!r} is not an email address", hint="a@b.c")
        return str(value.value).lower()

    @hookimpl
    def corral_register_play_keywords(self, register):
        register(PlayKeyword(name="owner", schema={"type": "string"}, validate=self.validate))

    @hookimpl
    def corral_register_filters(self, register):
        register(TemplateFunction(name="acme_shout", function=lambda s: f"{s.upper()}!"))

    @hookimpl
    def corral_event(self, event, run: RunInfo):
        if event["event"] == "recap":
            rendered = run.render("{{ who | acme_shout }}", {"who": run.values("owner")[0]})
            self.seen.append((run.run_id, run.values("owner"), run.options.check, rendered))


def test_hook_corral_register_play_keywords(corral_project):
    plugin = OwnerKeyword()
    corral_project.plugins.append(plugin)
    write_project(corral_project, "  owner: Ops@Example.com\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--check", "--output", "json")
    assert result.exit_code == 0, result.output
    recap = result.json_lines()[-1]
    assert recap["owner"] == ["ops@example.com"]  # the plays' values, in the recap too
    assert plugin.seen == [(recap["run_id"], ("ops@example.com",), True, "OPS@EXAMPLE.COM!")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("42", "error: site.yml:3:3: play keyword 'owner' must be a string, got int"),
        ("nobody", "error: site.yml:3:10: owner 'nobody' is not an email address"),
    ],
)
def test_a_bad_play_keyword_value_is_rejected_at_load(corral_project, value, message):
    corral_project.plugins.append(OwnerKeyword())
    write_project(corral_project, f"  owner: {value}\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == message


def test_an_unregistered_plugin_keyword_is_an_unknown_play_keyword(corral_project):
    write_project(corral_project, "  owner: ops@example.com\n")
    result = corral_project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "unknown play keyword 'owner'" in result.stderr


def test_a_plugin_keyword_may_not_replace_a_core_one(corral_project):
    class Hosts:
        @hookimpl
        def corral_register_play_keywords(self, register):
            register(PlayKeyword(name="hosts", schema={}))

    corral_project.plugins.append(Hosts())
    result = corral_project.run("plugins")
    assert result.exit_code == 1
    assert "registers play keyword 'hosts', which is one of corral's own" in result.stderr


def test_corral_event_implementations_without_run_keep_working(corral_project):
    old: list[str] = []
    new: list[str] = []

    class Old:
        @hookimpl
        def corral_event(self, event):
            old.append(event["event"])

    class New:
        @hookimpl
        def corral_event(self, event, run):
            new.append(f"{event['event']}:{run.run_id == event['run_id']}")

    corral_project.plugins += [Old(), New()]
    write_project(corral_project)
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    assert (old[0], old[-1]) == ("run_start", "recap")
    assert new == [f"{kind}:True" for kind in old]


def test_registry_collects_outputs_and_play_keywords():
    pm = make_plugin_manager(
        {"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"},
        extra_plugins=[("acme-output", AcmeOutput()), ("acme-owner", OwnerKeyword())],
    )
    registry = build_registry(pm)
    assert list(registry.outputs) == ["acme"]
    assert registry.outputs["acme"].plugin == "acme-output"
    assert registry.play_keywords["owner"].plugin == "acme-owner"

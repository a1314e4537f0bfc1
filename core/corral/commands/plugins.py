"""``corral plugins``: what is installed, where it came from, and what it registered."""

from __future__ import annotations

import json
from typing import Any

import click

from corral.plugins import Registry

KINDS = (
    "steps",
    "connections",
    "triggers",
    "inventory_sources",
    "filters",
    "tests",
    "lookups",
    "outputs",
    "play_keywords",
    "executors",
)


def describe_plugins(registry: Registry) -> list[dict[str, Any]]:
    """One stable JSON-ready record per loaded plugin."""
    registered: dict[str, dict[str, list[str]]] = {
        info.name: {kind: [] for kind in KINDS} for info in registry.plugins
    }

    def add(plugin: str, kind: str, name: str) -> None:
        registered.setdefault(plugin, {k: [] for k in KINDS})[kind].append(name)

    # Aliases map several names to one step type; list each type once.
    for step in {s.name: s for s in registry.steps.values()}.values():
        add(step.plugin, "steps", step.name)
    for conn in {c.name: c for c in registry.connections.values()}.values():
        add(conn.plugin, "connections", conn.name)
    for trigger in registry.triggers.values():
        add(trigger.plugin, "triggers", trigger.name)
    for source in registry.inventory_sources:
        add(source.plugin, "inventory_sources", source.name)
    for function in registry.template_functions:
        add(
            function.plugin,
            {"filter": "filters", "test": "tests"}.get(function.kind, "lookups"),
            function.name,
        )

    for output in registry.outputs.values():
        add(output.plugin, "outputs", output.name)
    for keyword in registry.play_keywords.values():
        add(keyword.plugin, "play_keywords", keyword.name)
    for executor in registry.executors.values():
        add(executor.plugin, "executors", executor.name)

    records = []
    for info in registry.plugins:
        record: dict[str, Any] = {
            "name": info.name,
            "module": info.module,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "hooks": list(registry.hooks.get(info.name, ())),
        }
        record.update({kind: sorted(names) for kind, names in registered[info.name].items()})
        records.append(record)
    return records


def _registers_text(record: dict[str, Any]) -> str:
    # The count first: the built-in jinja plugin alone registers some ninety names.
    parts = [
        f"{kind.replace('_', ' ')} ({len(record[kind])}): {', '.join(record[kind])}"
        for kind in KINDS
        if record[kind]
    ]
    return "\n".join(parts) or "-"


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON instead of a table.")
@click.option("--hook", metavar="NAME", help="Only plugins implementing this hook.")
@click.pass_obj
def plugins_command(obj: Any, as_json: bool, hook: str | None) -> int:
    """List installed plugins and what each registered."""
    records = describe_plugins(obj.registry)
    if hook:
        records = [r for r in records if hook in r["hooks"]]
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=None, show_lines=True)
    for column in ("plugin", "distribution", "version", "registers"):
        table.add_column(column)
    for r in records:
        dist = "corral (built-in)" if r["builtin"] else (r["distribution"] or "-")
        table.add_row(r["name"], dist, r["version"] or "-", _registers_text(r))
    Console(soft_wrap=False).print(table)
    if not records:
        click.echo("no plugins loaded")
    return 0

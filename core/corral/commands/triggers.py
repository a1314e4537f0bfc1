"""``corral triggers``: what starts the playbooks of a project, and when it fires next.

A project is a directory: its playbooks are the ``*.yml``/``*.yaml`` files at its top and
in ``playbooks/`` whose content is a list of plays (other YAML, such as an inventory or a
task file, is passed over). Each ``triggers:`` entry is listed with its playbook and
play, its arguments, whether it is switched on (``corral serve``'s UI and API switch
triggers off), its next fire time in the trigger's own time zone (for schedules), and
the playbook's last run from the run store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from corral.commands.options import project_option
from corral.errors import CorralError

__all__ = [
    "describe_trigger",
    "load_playbooks",
    "load_project",
    "project_playbooks",
    "trigger_lines",
    "trigger_rows",
    "triggers_command",
]


@click.command("triggers")
@project_option
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of a table.")
@click.pass_obj
def triggers_command(obj: Any, project: Path, as_json: bool) -> int:
    """List the triggers the project's playbooks declare, and when each fires next.

    Exit 0, or 4 when a playbook does not load (its error is shown; the others are
    still listed).
    """
    rows: list[dict[str, Any]] = []
    loaded, failed = load_project(project, obj)
    with _run_store(obj.environ) as store:
        switched = _switched(store)
        for name, playbook in loaded:
            found = trigger_rows(playbook, obj.registry, name)
            if found:
                last = _last_run(store, str(playbook.path))
                rows += [
                    {
                        "playbook": name,
                        **row,
                        "last_fire": _last_fire(store, name, row["key"]),
                        "last_run": last,
                        "enabled": switched.get((name, row["key"]), True),
                    }
                    for row in found
                ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif rows:
        _table(rows)
    else:
        click.echo(f"no triggers in the playbooks of {project}")
    return 4 if failed else 0


def load_project(project: Path, obj: Any) -> tuple[list[tuple[str, Any]], bool]:
    """The project's playbooks that load, as (name, Playbook); whether any did not.

    A playbook that does not load is reported on stderr (error and hint); the others
    are still returned, so one broken file does not hide the rest.
    """
    loaded, errors = load_playbooks(project, obj.registry, obj.environ)
    for _name, exc in errors:
        click.echo(f"error: {exc}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
    return loaded, bool(errors)


def load_playbooks(
    project: Path, registry: Any, environ: Mapping[str, str]
) -> tuple[list[tuple[str, Any]], list[tuple[str, CorralError]]]:
    """The project's playbooks: those that load as (name, Playbook), the others as
    (name, error); names are paths relative to ``project``."""
    from corral.playbook.loader import load_playbook

    loaded: list[tuple[str, Any]] = []
    errors: list[tuple[str, CorralError]] = []
    for path in project_playbooks(project):
        name = str(path.relative_to(project))
        try:
            playbook = load_playbook(
                path, registry.steps, registry.play_keywords, environ, registry.triggers
            )
        except CorralError as exc:
            errors.append((name, exc))
            continue
        loaded.append((name, playbook))
    return loaded, errors


def describe_trigger(
    trigger: Any, args: Mapping[str, Any], playbook: str, now: datetime
) -> dict[str, Any]:
    """A trigger entry as listed: its kind, its arguments, its next fire time (or None)."""
    from corral.playbook.args import is_templated

    row: dict[str, Any] = {"kind": trigger.name, "args": dict(args), "next_fire": None}
    if trigger.next_fire is None:
        return {**row, "next_fire_shown": "on event"}
    if is_templated(dict(args)):
        return {**row, "next_fire_shown": "when armed (its arguments are templates)"}
    nxt = trigger.next_fire(args, playbook, now)
    if nxt is None:
        return {**row, "next_fire_shown": "never"}
    return {**row, "next_fire": nxt.isoformat(), "next_fire_shown": f"{nxt:%Y-%m-%d %H:%M %Z}"}


def trigger_rows(playbook: Any, registry: Any, name: str) -> list[dict[str, Any]]:
    """Each trigger of a loaded playbook with its play, key in the store, next fire time."""
    from corral.triggers import trigger_key

    now = datetime.now(UTC)
    return [
        {
            "play": play.name,
            "key": trigger_key(t.kind, t.args),
            **describe_trigger(registry.triggers[t.kind], t.args, name, now),
        }
        for play in playbook.plays
        for t in play.triggers
    ]


def trigger_lines(playbook: Any, registry: Any, name: str) -> list[str]:
    """One line per trigger of a loaded playbook, for ``corral check`` and ``corral plan``."""
    lines = []
    for row in trigger_rows(playbook, registry, name):
        lines.append(
            f"trigger: {row['kind']} ({_shown(row['args'])}) on play {row['play']!r}: "
            f"next {row['next_fire_shown']}"
        )
    return lines


def _shown(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in args.items())


def project_playbooks(project: Path) -> Iterator[Path]:
    """The project's playbook files, in name order (top level first, then playbooks/)."""
    for directory in (project, project / "playbooks"):
        files = [*directory.glob("*.yml"), *directory.glob("*.yaml")]
        for path in sorted(files):
            if path.is_file() and _looks_like_a_playbook(path):
                yield path


def _looks_like_a_playbook(path: Path) -> bool:
    """A list of plays (``hosts:`` or ``import_playbook:``); YAML that fails to parse counts,
    so that loading it reports the error."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return True
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(p, dict) and ("hosts" in p or "import_playbook" in p) for p in data)
    )


@contextmanager
def _run_store(environ: Mapping[str, str]) -> Iterator[Any]:
    """The run store, opened once for the listing; None when there is none yet."""
    from corral.store.db import open_store, store_path

    if not store_path(environ).exists():
        yield None  # listing does not create a store
        return
    store = open_store(environ)
    try:
        yield store
    finally:
        store.close()


def _last_run(store: Any, playbook: str) -> str:
    from corral.store.queries import history

    runs = [] if store is None else history(store, playbook=playbook, limit=1)
    if not runs:
        return "never"
    run = runs[0]
    ago = _ago(time.time() - float(run["started"]))
    return f"{run['id']} {run['status']} ({ago} ago)"


def _switched(store: Any) -> dict[tuple[str, str], bool]:
    """Whether each trigger switched from ``corral serve`` (its UI, its API) is on."""
    from corral.store.switches import trigger_switches

    if store is None:
        return {}
    return {key: row["enabled"] for key, row in trigger_switches(store).items()}


def _last_fire(store: Any, playbook: str, key: str) -> str:
    """When ``corral serve`` last fired the trigger (its store), or ``never``."""
    from corral.store.queries import last_fire

    when = None if store is None else last_fire(store, playbook, key)
    if when is None:
        return "never"
    return f"{_ago(time.time() - when)} ago"


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("PLAYBOOK", "PLAY", "TRIGGER", "ON", "NEXT", "LAST FIRE", "LAST RUN"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["playbook"],
            row["play"],
            f"{row['kind']}: {_shown(row['args'])}",
            "yes" if row["enabled"] else "off",
            row["next_fire_shown"] if row["enabled"] else "switched off",
            row["last_fire"],
            row["last_run"],
        )
    Console(width=160, soft_wrap=True).print(table)

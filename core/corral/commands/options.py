"""Options shared by ``corral run``, ``corral check`` and friends, and their parsing."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from corral.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


def inventory_options(func: F) -> F:
    """``-i/--inventory`` (repeatable) and ``--limit``."""
    func = click.option(
        "-i",
        "--inventory",
        "inventories",
        multiple=True,
        metavar="SOURCE",
        help="Inventory file, directory or script; repeatable. "
        "Default: $CORRAL_INVENTORY, ./inventory/, localhost.",
    )(func)
    return click.option(
        "-l", "--limit", metavar="PATTERN", help="Only hosts matching PATTERN (or @file of names)."
    )(func)


def extra_vars_option(func: F) -> F:
    return click.option(
        "-e",
        "--extra-vars",
        "extra_vars",
        multiple=True,
        metavar="KEY=VALUE|@FILE|JSON",
        help="Variables that override all others; repeatable.",
    )(func)


def parse_extra_vars(values: Sequence[str], cwd: Path | None = None) -> dict[str, Any]:
    """``-e`` values as Ansible reads them.

    ``k=v`` pairs (strings), ``@file`` (YAML/JSON), or inline JSON/YAML.
    """
    merged: dict[str, Any] = {}
    for value in values:
        text = value.strip()
        if text.startswith("@"):
            merged.update(_vars_file(Path(text[1:]) if cwd is None else cwd / text[1:], text))
        elif text.startswith(("{", "[")):
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise UsageError(
                    f"-e {value!r} is not valid JSON/YAML: {exc.__class__.__name__}"
                ) from exc
            if not isinstance(data, dict):
                raise UsageError(f"-e {value!r} must be a mapping")
            merged.update(data)
        else:
            try:
                words = shlex.split(text)
            except ValueError as exc:
                raise UsageError(f"-e {value!r}: {exc}") from exc
            for word in words:
                key, sep, val = word.partition("=")
                if not sep or not key.isidentifier():
                    raise UsageError(
                        f"-e {word!r} is not KEY=VALUE",
                        hint="use -e name=value, -e @vars.yml or -e '{\"name\": 1}'",
                    )
                merged[key] = val
    return merged


def _vars_file(path: Path, shown: str) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise UsageError(f"-e {shown}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"-e {shown}: not valid YAML/JSON ({exc.__class__.__name__})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"-e {shown}: the file must hold a mapping")
    return data


def split_tags(values: Sequence[str]) -> frozenset[str]:
    return frozenset(t.strip() for value in values for t in value.split(",") if t.strip())


def run_output_options(func: F) -> F:
    """``--output``, ``-v`` and ``--grace``: how a run (or a resumed one) reports and stops."""
    func = click.option(
        "--grace",
        type=float,
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="After Ctrl-C, how long running tasks get to finish.",
    )(func)
    func = click.option(
        "-v", "--verbose", count=True, help="More detail: -v results, -vv task paths, -vvv all."
    )(func)
    return click.option(
        "--output",
        "output",
        default="console",
        show_default=True,
        metavar="NAME",
        callback=_registered_output,
        help="How events are written: console, json (one event per line, docs/events.md), "
        "or an output a plugin registers.",
    )(func)


def _registered_output(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """``--output`` names a registered output; an unknown name is a usage error (exit 5)."""
    from corral.output import find_output

    return find_output(ctx.find_root().obj.registry.outputs, value).name

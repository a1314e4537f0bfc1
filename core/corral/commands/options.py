"""Options shared by ``corral run``, ``corral check`` and friends, and their parsing."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from corral.errors import CorralError, UsageError

if TYPE_CHECKING:
    from corral.ansible_cfg import AnsibleSettings

F = TypeVar("F", bound=Callable[..., Any])


def inventory_options(func: F) -> F:
    """``-i/--inventory`` (repeatable) and ``--limit``."""
    func = click.option(
        "-i",
        "--inventory",
        "inventories",
        multiple=True,
        metavar="SOURCE",
        help="Inventory file, directory or script; repeatable. Default: $CORRAL_INVENTORY, "
        "$ANSIBLE_INVENTORY, ansible.cfg's inventory, ./inventory/, localhost.",
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

    ``k=v`` pairs (strings), ``@file`` (YAML/JSON), or inline JSON/YAML. Both files and
    inline text go through the playbook loader, with its size, depth and alias bounds.
    A value the command line cannot parse (no ``=``, bad inline JSON/YAML, a missing
    ``@file``) is a :class:`UsageError` (exit 5); a file that exists but holds no usable
    mapping is a :class:`~corral.errors.PlaybookError` (exit 4).
    """
    from corral.playbook.yaml.read import load_vars_argument

    merged: dict[str, Any] = {}
    for value in values:
        text = value.strip()
        if text.startswith("@"):
            merged.update(load_vars_argument("-e", text, cwd))
        elif text.startswith(("{", "[")):
            merged.update(_inline_vars(text))
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


def _inline_vars(text: str) -> dict[str, Any]:
    """``-e '{...}'``: JSON or YAML typed on the command line, read as a file would be."""
    from corral.errors import PlaybookError
    from corral.playbook.yaml.load import load_yaml_text
    from corral.playbook.yaml.marked import unmark

    try:
        data = load_yaml_text(text, "-e")
    except PlaybookError as exc:
        raise UsageError(
            f"not valid JSON/YAML: {exc.message}",
            hint=exc.hint or 'quote the whole value for the shell: -e \'{"name": "value"}\'',
            location=exc.location,
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"-e {text[:40]!r} must be a mapping",
            hint="use -e name=value, -e @vars.yml or -e '{\"name\": 1}'",
        )
    return dict(unmark(data))


def split_tags(values: Sequence[str]) -> frozenset[str]:
    return frozenset(t.strip() for value in values for t in value.split(",") if t.strip())


def project_option(func: F) -> F:
    """``--project DIR``: what ``corral triggers``, ``schedule`` and ``serve`` work on."""
    return click.option(
        "--project",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The project directory: playbooks (*.yml, playbooks/), inventory, ansible.cfg.",
    )(func)


def wait_lock_seconds(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> float:
    """A ``--wait-lock`` value (``0``, ``30s``, ``5m``, ``1h``) in seconds."""
    from corral.engine.retry import parse_duration

    try:
        seconds = parse_duration(value) or 0.0
    except CorralError:
        seconds = -1.0
    if seconds < 0:
        raise click.BadParameter(
            f"{value!r} is not a duration: give 0 (do not wait), 30s, 5m or 1h", ctx, param
        )
    return seconds


def wait_lock_option(func: F) -> F:
    """``--wait-lock DURATION``: how long a run waits for a host or lock another run holds."""
    return click.option(
        "--wait-lock",
        metavar="DURATION",
        default="0",
        callback=wait_lock_seconds,
        help="When another run holds one of the hosts or locks, wait this long for it"
        " (30s, 5m) before giving up with exit 4. Default: 0, do not wait.",
    )(func)


def executor_option(func: F) -> F:
    """``--executor NAME``: where a run's units run (corral.executors)."""
    return click.option(
        "--executor",
        metavar="NAME",
        help="Where the units run: local (this process, the default), or an executor "
        "plugin's (`corral plugins` lists them). Default: CORRAL_EXECUTOR, else local.",
    )(func)


def run_output_options(func: F) -> F:
    """``--output``, ``-v`` and ``--grace``: how a run (or a resumed one) reports and stops."""
    func = click.option(
        "--grace",
        type=float,
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="After Ctrl-C or SIGTERM, how long running tasks get to finish before being killed.",
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


def params_option(func: F) -> F:
    """``-p/--param``: shared by run, check and plan; ``-e`` gives params their value too."""
    return click.option(
        "-p",
        "--param",
        "params",
        multiple=True,
        metavar="NAME=VALUE|@FILE",
        help="A value for one of the playbook's params; repeatable (-e NAME=VALUE too, and wins).",
    )(func)


def policy_option(func: F) -> F:
    """``--policy FILE``: the policy rules to apply (docs/policy.md)."""
    return click.option(
        "--policy",
        "policy_file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Policy rules to apply. Default: CORRAL_POLICY, else ./policy.yml if there.",
    )(func)


def load_ansible_settings(environ: Mapping[str, str]) -> AnsibleSettings:
    """``ansible.cfg`` and ``ANSIBLE_*`` for this command (:mod:`corral.ansible_cfg`).

    Read once per command: the vault options and the command itself both need them,
    and click's ``Context.meta`` is shared by a command and its parents.
    """
    from corral.ansible_cfg import load_settings

    cwd = Path(os.getcwd())
    context = click.get_current_context(silent=True)
    if context is None:
        return load_settings(environ, cwd)
    key = (id(environ), cwd)
    cached: tuple[Any, AnsibleSettings] | None = context.meta.get(_SETTINGS_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    settings = load_settings(environ, cwd)
    context.meta[_SETTINGS_KEY] = (key, settings)
    return settings


_SETTINGS_KEY = "corral.ansible_settings"


@contextlib.contextmanager
def json_errors(output: str) -> Iterator[None]:
    """With ``--output json``, an error that stops the command is an ``error`` event on stdout too.

    The one-line error still goes to stderr and the exit code is unchanged
    (docs/events.md, ``error``).
    """
    try:
        yield
    except CorralError as exc:
        if output == "json":
            click.echo(json.dumps(error_event(exc), sort_keys=False))
        raise


def error_event(exc: CorralError) -> dict[str, Any]:
    """The ``error`` event for ``exc``: message, hint, file/line/col and the exit code."""
    import time

    where = exc.location
    return {
        "v": 1,
        "event": "error",
        "run_id": "",
        "time": round(time.time(), 6),
        "message": exc.message,
        "hint": exc.hint,
        "file": where.file if where else None,
        "line": where.line if where else None,
        "col": where.col if where else None,
        "exit_code": exc.exit_code,
    }

"""The ``corral`` command line: a thin click group behind one error boundary.

``command`` is the console-script entry point. It calls ``main``, which builds the
plugin manager and registry, assembles a fresh click group (plugins add commands through
``corral_register_commands``), runs it, and turns every error into one line on stderr and
the documented exit code (see :mod:`corral.errors`). Commands return their exit code as
an int.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

from corral import __version__
from corral.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CorralError,
)
from corral.paths import (
    CRASH_DIR,
    corral_home,
    create_private_file,
    private_dir,
    private_home,
    warn_made_private,
)
from corral.plugins import Registry, build_registry, make_plugin_manager, register_commands

__all__ = ["CliState", "command", "main", "make_cli"]

HELP = """\
Run Ansible-style playbooks against a fleet, locally or over SSH.

\b
Exit codes: 0 ok, 1 internal error, 2 a host failed, 3 a host was
unreachable, 4 invalid playbook/inventory/params, 5 bad usage,
99 interrupted.
"""


@dataclass(frozen=True)
class CliState:
    """What every command gets as ``ctx.obj``: the registry and the environment."""

    registry: Registry
    environ: Mapping[str, str]
    debug: bool = False


def _outside_plugins() -> list[str]:
    """``name version (distribution)`` per installed outside plugin; imports none of them."""
    from importlib.metadata import entry_points

    lines = []
    for ep in entry_points(group="corral"):
        dist = ep.dist
        if dist is not None and dist.name != "corral":
            lines.append(f"{ep.name} {dist.version} ({dist.name})")
    return sorted(lines)


def version_text() -> str:
    """What ``corral --version`` prints: corral's version, Python's, and outside plugins."""
    text = f"corral {__version__} (Python {sys.version.split()[0]})"
    plugins = _outside_plugins()
    if plugins:
        text += "\nplugins: " + ", ".join(plugins)
    return text


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # Worked out only when asked for: it reads every installed plugin's metadata.
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


def make_cli(registry: Registry) -> click.Group:
    """A fresh ``corral`` click group with the built-in commands and every plugin's."""
    from corral.commands.plugins import plugins_command

    @click.group(
        name="corral",
        help=HELP,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    @click.option(
        "--version",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_print_version,
        help="Show the version and exit.",
    )
    @click.option(
        "--debug",
        is_flag=True,
        envvar="CORRAL_DEBUG",
        help="Show full tracebacks for internal errors.",
    )
    def cli(debug: bool) -> None:
        pass

    cli.add_command(plugins_command)
    for command in _builtin_commands():
        cli.add_command(command)
    if registry.pm is not None:
        register_commands(registry.pm, cli)
    return cli


def _builtin_commands() -> list[click.Command]:
    """The built-in commands; their modules import only click at module level."""
    from corral.commands.approve import approve_command
    from corral.commands.check import check_command
    from corral.commands.control import cancel_command, continue_command, pause_command
    from corral.commands.inventory import inventory
    from corral.commands.new import new_group
    from corral.commands.plan import plan_command
    from corral.commands.resume import resume_command
    from corral.commands.run import run_command
    from corral.commands.triggers import triggers_command

    return [
        run_command,
        check_command,
        plan_command,
        inventory,
        approve_command,
        resume_command,
        cancel_command,
        pause_command,
        continue_command,
        new_group,
        triggers_command,
    ]


def _wants_debug(args: Sequence[str], environ: Mapping[str, str]) -> bool:
    before_separator = args[: args.index("--")] if "--" in args else args
    return "--debug" in before_separator or environ.get("CORRAL_DEBUG", "") not in ("", "0")


def _print_error(exc: CorralError) -> None:
    click.echo(f"error: {exc}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)


def _save_traceback(environ: Mapping[str, str]) -> str:
    """Write the current exception's traceback to a crash file and return its path.

    Tracebacks can quote variables and host output, so the crash directory is 0700 and
    each file 0600 from the moment it is created (see :mod:`corral.paths`); modes an
    older corral left open are repaired, with a warning.
    """
    text = traceback.format_exc()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for directory in (corral_home(environ) / CRASH_DIR, None):
        try:
            if directory is None:
                import tempfile

                fd, path = tempfile.mkstemp(prefix="corral-crash-", suffix=".txt")
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
                return path
            changes = private_dir(directory)  # creates it (and CORRAL_HOME) 0700
            changes += private_home(directory.parent)  # repairs what was already there
            warn_made_private(f"corral's home {directory.parent}", changes)
            target = directory / f"{stamp}-{os.getpid()}.txt"
            with os.fdopen(create_private_file(target), "w") as handle:
                handle.write(text)
            return str(target)
        except OSError:
            continue
    return "(could not be saved)"


def main(  # noqa: PLR0911 - the error boundary maps each kind of error to its exit code
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> int:
    """Run ``corral`` with ``argv`` and return its exit code; never raises."""
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    if args[:1] == ["--version"]:
        # Answered before plugins load, so it works (and is fast) even when one is broken.
        click.echo(version_text())
        return EXIT_OK
    debug = _wants_debug(args, env)
    try:
        pm = make_plugin_manager(env, extra_plugins=extra_plugins)
        registry = build_registry(pm)
        cli = make_cli(registry)
        state = CliState(registry=registry, environ=env, debug=debug)
        result: Any = cli.main(args, prog_name="corral", standalone_mode=False, obj=state)
    except CorralError as exc:
        if debug:
            traceback.print_exc()
        _print_error(exc)
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return EXIT_OK
    except click.UsageError as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        command = exc.ctx.command_path if exc.ctx else "corral"
        click.echo(f"hint: see '{command} --help'", err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except Exception as exc:
        where = _save_traceback(env)
        if debug:
            traceback.print_exc()
        click.echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            f"(traceback saved to {where}; rerun with --debug to print it)",
            err=True,
        )
        return EXIT_INTERNAL
    if isinstance(result, int):
        return result
    return EXIT_OK


def command() -> None:
    """The ``corral`` command: :func:`main`, then an exit without the interpreter's teardown.

    Freeing every module and object at exit took 50-80 ms after a run over 100 SSH
    hosts, for a process about to end. So the last exit handler (registered first, it
    runs after all the others, and after non-daemon threads were joined) flushes the
    standard streams and leaves with ``os._exit``. Plugins' own atexit handlers still run.
    """
    code = EXIT_INTERNAL
    atexit.register(lambda: _leave(code))
    code = main()
    sys.exit(code)


def _leave(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (corral run | head) has nothing left to lose.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)

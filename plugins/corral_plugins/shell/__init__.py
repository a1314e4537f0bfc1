"""Steps that run commands on the host: ``shell``, ``command``, ``script``, ``raw``...

``command`` runs an argv list and never goes through a shell; ``shell`` passes
its string to ``/bin/sh -c`` (or ``executable``), so quote what you interpolate
with the ``quote`` filter; ``script`` uploads a local script, runs it and always
removes it. All three return Ansible's result shape (``rc``, ``stdout``,
``stderr``, ``cmd``, ``start``, ``end``, ``delta``) and honour ``creates`` /
``removes``, the task's ``timeout``, ``environment`` and ``become``.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl
from corral_plugins.shell.async_status import ASYNC_STATUS_SCHEMA, async_status
from corral_plugins.shell.outcome import command_outcome
from corral_plugins.shell.raw import RAW_SCHEMA, raw

__all__ = ["COMMAND_SCHEMA", "SCRIPT_SCHEMA", "SHELL_SCHEMA", "command", "script", "shell"]

_GUARD_PROPERTIES: dict[str, Any] = {
    "chdir": {
        "type": "string",
        "description": "Change into this directory on the host before running.",
    },
    "creates": {
        "type": "string",
        "description": "A path or glob on the host; when it matches something, "
        "the command is not run. Relative to `chdir` when that is given.",
    },
    "removes": {
        "type": "string",
        "description": "A path or glob on the host; when it matches nothing, "
        "the command is not run. Relative to `chdir` when that is given.",
    },
}

_IO_PROPERTIES: dict[str, Any] = {
    "stdin": {
        "type": "string",
        "description": "Text fed to the command's standard input.",
    },
    "stdin_add_newline": {
        "type": "boolean",
        "default": True,
        "description": "Append a newline to `stdin`.",
    },
    "strip_empty_ends": {
        "type": "boolean",
        "default": True,
        "description": "Strip trailing newlines from `stdout` and `stderr`, as Ansible does.",
    },
}

SHELL_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cmd"],
    "properties": {
        "cmd": {
            "type": "string",
            "description": "The command line, run by the shell: pipes, redirections and "
            "variables work. Quote interpolated values with the `quote` filter.",
        },
        "executable": {
            "type": "string",
            "default": "/bin/sh",
            "description": "The shell that runs `cmd` (as `<executable> -c <cmd>`).",
        },
        **_GUARD_PROPERTIES,
        **_IO_PROPERTIES,
    },
}

COMMAND_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["cmd"]}, {"required": ["argv"]}],
    "properties": {
        "cmd": {
            "type": "string",
            "description": "The command and its arguments, split like a shell would "
            "(shlex) but never run by one: no pipes, redirections or `$VARS`.",
        },
        "argv": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "The command as a list of arguments; use instead of `cmd` "
            "when arguments contain spaces or quotes.",
        },
        "executable": {
            "type": "string",
            "description": "The program to run, in place of the first argument (Ansible "
            "still passes that one as the program's name, `argv[0]`; corral drops it).",
        },
        **_GUARD_PROPERTIES,
        **_IO_PROPERTIES,
    },
}

SCRIPT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cmd"],
    "properties": {
        "cmd": {
            "type": "string",
            "description": "A local script path followed by its arguments. The path is "
            "looked up in `files/` beside the task file, then beside it.",
        },
        "executable": {
            "type": "string",
            "description": "Run the script with this interpreter (e.g. `python3`) "
            "instead of its shebang line.",
        },
        **_GUARD_PROPERTIES,
    },
}


# -- the steps ---------------------------------------------------------------


def shell(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run ``cmd`` through a shell on the host."""
    argv = [args.get("executable", "/bin/sh"), "-c", args["cmd"]]
    return _run_command(ctx, args, argv, shown=args["cmd"])


def command(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run a command on the host without a shell."""
    if "argv" in args:
        argv = [str(part) for part in args["argv"]]
    else:
        try:
            argv = shlex.split(args["cmd"])
        except ValueError as exc:
            return StepResult(failed=True, msg=f"cannot split cmd into arguments: {exc}")
    if not argv:
        return StepResult(failed=True, msg="no command given")
    if "executable" in args:
        argv = [args["executable"], *argv[1:]]
    return _run_command(ctx, args, argv, shown=argv)


def script(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Upload a local script to a temporary directory on the host, run it, remove it."""
    found = _find_script(ctx, args["cmd"])
    if isinstance(found, StepResult):
        return found
    source, script_args = found
    skipped = _guard(ctx, args, args.get("chdir"))
    if skipped is not None:
        return StepResult(skipped=True, msg=skipped[0])
    if ctx.check_mode:
        if "creates" in args or "removes" in args:
            return StepResult(changed=True, msg="Script would have run if not in check mode")
        return StepResult(skipped=True, msg="Check mode is not supported for this task")
    return _upload_and_run(ctx, args, source, script_args)


def _find_script(ctx: StepContext, cmd: str) -> tuple[Path, list[str]] | StepResult:
    """The local script and its arguments, or the failed result saying why not."""
    try:
        parts = shlex.split(cmd)
    except ValueError as exc:
        return StepResult(failed=True, msg=f"cannot split cmd into arguments: {exc}")
    if not parts:
        return StepResult(failed=True, msg="no script given")
    source = ctx.find_file(parts[0], "files")
    if source is None or not source.is_file():
        return StepResult(
            failed=True, msg=f"Could not find or access '{parts[0]}' on the controller"
        )
    return source, parts[1:]


def _upload_and_run(
    ctx: StepContext, args: Mapping[str, Any], source: Path, script_args: list[str]
) -> StepResult:
    try:
        interpreter = shlex.split(args["executable"]) if "executable" in args else []
    except ValueError as exc:
        return StepResult(failed=True, msg=f"cannot split executable into arguments: {exc}")
    made = ctx.conn.run(["mktemp", "-d"], timeout=ctx.timeout, become=ctx.become)
    if made.rc != 0:
        return StepResult(
            failed=True, msg=f"cannot make a temporary directory: {made.stderr.strip()}"
        )
    tmpdir = made.stdout.strip()
    # Under async the job removes the directory itself, once the script has run.
    removed_by_job = ctx.async_runner is not None
    try:
        remote = posixpath.join(tmpdir, source.name)
        ctx.conn.put(source, remote, mode=0o700, become=ctx.become, timeout=ctx.timeout)
        argv = [*interpreter, remote, *script_args]
        if removed_by_job:
            argv = ["/bin/sh", "-c", RUN_AND_REMOVE, "corral-script", tmpdir, *argv]
        result = ctx.run_command(argv, env=_env(ctx), cwd=args.get("chdir"), shown=args["cmd"])
    finally:
        # Removed even when the run failed or timed out: nothing is left on the host.
        if not removed_by_job:
            ctx.conn.run(["rm", "-rf", "--", tmpdir], timeout=ctx.timeout, become=ctx.become)
    return command_outcome(ctx, result, {}, strip=True)


RUN_AND_REMOVE = 'd=$1; shift; "$@"; rc=$?; rm -rf -- "$d"; exit $rc'


# -- shared by the steps ------------------------------------------------------


def _run_command(
    ctx: StepContext, args: Mapping[str, Any], argv: list[str], *, shown: str | list[str]
) -> StepResult:
    data: dict[str, Any] = {"cmd": shown, "start": None, "end": None, "delta": None}
    chdir = args.get("chdir")
    skipped = _guard(ctx, args, chdir)
    if skipped is not None:
        stdout, msg = skipped
        return StepResult(msg=msg, rc=0, stdout=stdout, stderr="", data=data)
    if ctx.check_mode:
        would_run = "creates" in args or "removes" in args
        return StepResult(
            changed=would_run,
            skipped=not would_run,
            msg="Command would have run if not in check mode",
            rc=0,
            stdout="",
            stderr="",
            data=data,
        )
    stdin = args.get("stdin")
    if stdin is not None and args.get("stdin_add_newline", True):
        stdin += "\n"
    start = datetime.now()
    display = shown if isinstance(shown, str) else shlex.join(shown)
    result = ctx.run_command(argv, stdin=stdin, env=_env(ctx), cwd=chdir, shown=display)
    end = datetime.now()
    data.update(start=str(start), end=str(end), delta=str(end - start))
    return command_outcome(ctx, result, data, strip=args.get("strip_empty_ends", True))


def _env(ctx: StepContext) -> dict[str, str] | None:
    return {str(key): str(value) for key, value in ctx.env.items()} or None


def _guard(ctx: StepContext, args: Mapping[str, Any], chdir: str | None) -> tuple[str, str] | None:
    """Why ``creates``/``removes`` say not to run, as (stdout, msg); None to run."""
    verb = "Would" if ctx.check_mode else "Did"
    creates, removes = args.get("creates"), args.get("removes")
    if creates is not None and _matches(ctx, _under(chdir, creates)):
        return (
            f"skipped, since {creates} exists",
            f"{verb} not run command since '{creates}' exists",
        )
    if removes is not None and not _matches(ctx, _under(chdir, removes)):
        return (
            f"skipped, since {removes} does not exist",
            f"{verb} not run command since '{removes}' does not exist",
        )
    return None


def _under(chdir: str | None, path: str) -> str:
    return posixpath.join(chdir, path) if chdir else path


# Expands "$1" as a glob (IFS is empty, so no word splitting) and succeeds when
# anything matches; an unmatched glob stays literal and fails the -e test.
_GLOB_TEST = 'IFS=""; for p in $1; do if [ -e "$p" ] || [ -L "$p" ]; then exit 0; fi; done; exit 1'


def _matches(ctx: StepContext, pattern: str) -> bool:
    """Whether ``pattern`` (a path, or a glob) names anything on the host."""
    if not any(char in pattern for char in "*?["):
        return ctx.conn.stat(pattern, become=ctx.become, timeout=ctx.timeout) is not None
    argv: Sequence[str] = ["/bin/sh", "-c", _GLOB_TEST, "glob", pattern]
    return ctx.conn.run(argv, timeout=ctx.timeout, become=ctx.become).rc == 0


# -- registration -------------------------------------------------------------


def _ansible_names(name: str) -> tuple[str, ...]:
    return (f"ansible.builtin.{name}", f"ansible.legacy.{name}")


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``shell``, ``command``, ``script``, ``raw`` and ``async_status``."""
    register(
        StepType(
            name="shell",
            cooperative=True,
            run=shell,
            schema=SHELL_SCHEMA,
            aliases=_ansible_names("shell"),
            check_mode=True,
            free_form="cmd",
            description="Run a command line through a shell on the host.",
        )
    )
    register(
        StepType(
            name="command",
            cooperative=True,
            run=command,
            schema=COMMAND_SCHEMA,
            aliases=_ansible_names("command"),
            check_mode=True,
            free_form="cmd",
            description="Run a command on the host, without a shell.",
        )
    )
    register(
        StepType(
            name="script",
            cooperative=True,
            run=script,
            schema=SCRIPT_SCHEMA,
            aliases=_ansible_names("script"),
            check_mode=True,
            free_form="cmd",
            description="Copy a local script to the host, run it there, then remove it.",
        )
    )
    register(
        StepType(
            name="raw",
            cooperative=True,
            run=raw,
            schema=RAW_SCHEMA,
            aliases=_ansible_names("raw"),
            check_mode=True,  # skipped, as in Ansible
            free_form="cmd",
            description="Run a command line through the host's shell, with no Python needed.",
        )
    )
    register(
        StepType(
            name="async_status",
            run=async_status,
            schema=ASYNC_STATUS_SCHEMA,
            aliases=_ansible_names("async_status"),
            check_mode=True,
            description="Report or clean up a background job started with async and poll: 0.",
        )
    )

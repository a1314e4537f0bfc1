"""The shell, command and script steps, run through their registered StepTypes on this machine."""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from corral import Become, StepContext, StepResult, StepType
from corral_plugins import shell as shell_plugin
from corral_plugins.local import LocalConnection


def _registered() -> dict[str, StepType]:
    found: list[StepType] = []
    shell_plugin.corral_register_steps(register=found.append)
    return {step.name: step for step in found}


STEPS = _registered()


def run(name: str, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Validate ``args`` against the step's schema, as the loader does, then run the step."""
    step = STEPS[name]
    Draft202012Validator(step.schema).validate(args)
    return step.run(ctx, args)


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    return StepContext(
        host="localhost",
        vars={},
        conn=LocalConnection(),
        search_paths=(tmp_path,),
    )


TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")


# -- shell --------------------------------------------------------------------------


def test_shell_returns_ansibles_result_shape(ctx: StepContext) -> None:
    result = run("shell", ctx, {"cmd": "echo out; echo err >&2"})
    assert not result.failed
    assert result.changed
    assert (result.rc, result.stdout, result.stderr) == (0, "out", "err")
    assert result.data["cmd"] == "echo out; echo err >&2"
    assert TIME.match(result.data["start"])
    assert TIME.match(result.data["end"])
    assert re.match(r"^0:00:0\d\.\d{6}$", result.data["delta"])
    registered = result.as_dict()
    assert registered["stdout_lines"] == ["out"]
    assert "msg" not in registered


def test_shell_uses_pipes_and_the_task_environment(ctx: StepContext) -> None:
    ctx.env = {"WORD": "quiet"}
    assert run("shell", ctx, {"cmd": "echo $WORD | tr a-z A-Z"}).stdout == "QUIET"


def test_shell_non_zero_exit_fails(ctx: StepContext) -> None:
    result = run("shell", ctx, {"cmd": "echo broken >&2; exit 3"})
    assert result.failed
    assert result.msg == "non-zero return code"
    assert result.rc == 3
    assert result.stderr == "broken"


def test_shell_with_another_executable(ctx: StepContext) -> None:
    result = run("shell", ctx, {"cmd": "echo ${BASH_VERSION:+bash}", "executable": "/bin/bash"})
    assert result.stdout == "bash"


def test_shell_stdin_and_its_newline(ctx: StepContext) -> None:
    assert run("shell", ctx, {"cmd": "wc -c", "stdin": "hello"}).stdout == "6"
    no_newline = {"cmd": "wc -c", "stdin": "hello", "stdin_add_newline": False}
    assert run("shell", ctx, no_newline).stdout == "5"


def test_trailing_newlines_are_stripped_unless_asked(ctx: StepContext) -> None:
    assert run("shell", ctx, {"cmd": "printf 'a\\n\\n\\n'"}).stdout == "a"
    kept = run("shell", ctx, {"cmd": "printf 'a\\n'", "strip_empty_ends": False})
    assert kept.stdout == "a\n"


def test_shell_chdir(ctx: StepContext, tmp_path: Path) -> None:
    assert run("shell", ctx, {"cmd": "pwd", "chdir": str(tmp_path)}).stdout == str(tmp_path)


def test_creates_skips_the_command_when_the_path_exists(ctx: StepContext, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "done.flag").touch()
    args = {"cmd": f"touch {marker}", "creates": str(tmp_path / "done.flag")}
    result = run("shell", ctx, args)
    assert not result.changed
    assert not result.failed
    assert result.msg == f"Did not run command since '{tmp_path / 'done.flag'}' exists"
    assert result.rc == 0
    assert not marker.exists()


def test_creates_takes_a_glob_and_a_path_relative_to_chdir(
    ctx: StepContext, tmp_path: Path
) -> None:
    (tmp_path / "build-1.tar").touch()
    args = {"cmd": "touch ran", "creates": "build-*.tar", "chdir": str(tmp_path)}
    assert not run("shell", ctx, args).changed
    args["creates"] = "release-*.tar"
    assert run("shell", ctx, args).changed
    assert (tmp_path / "ran").exists()


def test_removes_runs_only_while_the_path_exists(ctx: StepContext, tmp_path: Path) -> None:
    target = tmp_path / "old.log"
    args = {"cmd": f"rm {target}", "removes": str(target)}
    skipped = run("shell", ctx, args)
    assert not skipped.changed
    assert "does not exist" in skipped.msg
    target.touch()
    assert run("shell", ctx, args).changed
    assert not target.exists()


def test_check_mode_runs_nothing(ctx: StepContext, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    ctx.check_mode = True
    result = run("shell", ctx, {"cmd": f"touch {marker}"})
    assert result.skipped
    assert not result.changed
    assert not marker.exists()
    guarded = run("shell", ctx, {"cmd": f"touch {marker}", "creates": str(marker)})
    assert guarded.changed  # creates says it would run
    assert guarded.msg == "Command would have run if not in check mode"
    assert not marker.exists()


def test_timeout_fails_the_step_and_kills_the_command(ctx: StepContext) -> None:
    ctx.timeout = 0.5
    started = time.monotonic()
    result = run("shell", ctx, {"cmd": "echo begun; sleep 30"})
    assert time.monotonic() - started < 15  # the 30 s command did not run to its end
    assert result.failed
    assert result.msg == "command timed out after 0.5 seconds"
    assert result.stdout == "begun"


def test_become_the_current_user_works_without_sudo(tmp_path: Path) -> None:
    ctx = StepContext(
        host="localhost",
        vars={},
        conn=LocalConnection(become_exe=str(tmp_path / "no-sudo")),
        become=Become(user=getpass.getuser()),
    )
    assert run("shell", ctx, {"cmd": "id -un"}).stdout == getpass.getuser()


def test_shell_schema_rejects_unknown_arguments() -> None:
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["shell"].schema).validate({"cmd": "x", "warn": False})


# -- command ----------------------------------------------------------------------------


def test_command_splits_like_a_shell_but_runs_without_one(ctx: StepContext) -> None:
    result = run("command", ctx, {"cmd": "printf '%s|' 'a b' $HOME \"*\""})
    assert result.stdout == "a b|$HOME|*|"
    assert result.data["cmd"] == ["printf", "%s|", "a b", "$HOME", "*"]


def test_command_takes_argv(ctx: StepContext) -> None:
    result = run("command", ctx, {"argv": ["echo", "it's", "a;b"]})
    assert result.stdout == "it's a;b"
    assert result.data["cmd"] == ["echo", "it's", "a;b"]


def test_command_needs_exactly_one_of_cmd_and_argv() -> None:
    validator = Draft202012Validator(STEPS["command"].schema)
    with pytest.raises(ValidationError):
        validator.validate({"cmd": "ls", "argv": ["ls"]})
    with pytest.raises(ValidationError):
        validator.validate({"chdir": "/"})


def test_command_missing_program_fails_with_rc_127(ctx: StepContext) -> None:
    result = run("command", ctx, {"cmd": "corral-no-such-program --flag"})
    assert result.failed
    assert result.rc == 127


def test_command_with_unbalanced_quotes_fails_clearly(ctx: StepContext) -> None:
    result = run("command", ctx, {"cmd": "echo 'unclosed"})
    assert result.failed
    assert "cannot split cmd" in result.msg


def test_command_honours_creates_and_check_mode(ctx: StepContext, tmp_path: Path) -> None:
    (tmp_path / "exists").touch()
    ctx.check_mode = True
    args = {"cmd": "false", "creates": str(tmp_path / "exists")}
    assert (
        run("command", ctx, args).msg == f"Would not run command since '{tmp_path}/exists' exists"
    )


# -- script --------------------------------------------------------------------------------

SCRIPT = """#!/bin/sh
echo "args: $*"
echo "dir: $(dirname "$0")"
echo "cwd: $(pwd)"
echo "env: $GREETING"
exit "${EXIT_WITH:-0}"
"""


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    path = tmp_path / "files" / "report.sh"
    path.parent.mkdir()
    path.write_text(SCRIPT)
    path.chmod(0o644)  # not executable locally: the upload makes it so
    return path


def _lines(result: StepResult) -> dict[str, str]:
    assert result.stdout is not None
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def test_script_uploads_runs_with_arguments_and_removes_itself(
    ctx: StepContext, script_file: Path, tmp_path: Path
) -> None:
    ctx.env = {"GREETING": "hello"}
    result = run("script", ctx, {"cmd": "report.sh one 'two words'", "chdir": str(tmp_path)})
    assert not result.failed
    assert result.changed
    out = _lines(result)
    assert out["args"] == "one two words"
    assert out["cwd"] == str(tmp_path)
    assert out["env"] == "hello"
    assert not Path(out["dir"]).exists()  # the uploaded copy and its directory are gone


def test_script_failure_still_removes_the_upload(ctx: StepContext, script_file: Path) -> None:
    ctx.env = {"EXIT_WITH": "4"}
    result = run("script", ctx, {"cmd": "report.sh"})
    assert result.failed
    assert result.rc == 4
    assert result.msg == "non-zero return code"
    assert not Path(_lines(result)["dir"]).exists()


def test_script_with_an_interpreter(ctx: StepContext, tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text("import sys\nprint('py', sys.argv[1])\n")
    result = run("script", ctx, {"cmd": "hello.py x", "executable": "python3"})
    assert result.stdout == "py x"


def test_script_that_cannot_be_found_fails(ctx: StepContext) -> None:
    result = run("script", ctx, {"cmd": "missing.sh"})
    assert result.failed
    assert "Could not find or access 'missing.sh'" in result.msg


def test_script_creates_skips_and_check_mode_does_not_upload(
    ctx: StepContext, script_file: Path, tmp_path: Path
) -> None:
    skipped = run("script", ctx, {"cmd": "report.sh", "creates": str(script_file)})
    assert skipped.skipped
    assert skipped.msg == f"skipped, since {script_file} exists"
    ctx.check_mode = True
    assert run("script", ctx, {"cmd": "report.sh"}).skipped
    would = run("script", ctx, {"cmd": "report.sh", "creates": str(tmp_path / "nope")})
    assert would.changed


def test_script_timeout_fails_and_cleans_up(ctx: StepContext, tmp_path: Path) -> None:
    slow = tmp_path / "slow.sh"
    slow.write_text('#!/bin/sh\necho "dir: $(dirname "$0")"\nsleep 30\n')
    ctx.timeout = 0.5
    started = time.monotonic()
    result = run("script", ctx, {"cmd": "slow.sh"})
    assert time.monotonic() - started < 15  # the 30 s script did not run to its end
    assert result.failed
    assert "timed out" in result.msg
    assert not Path(_lines(result)["dir"]).exists()


def test_script_with_an_unsplittable_executable_fails_clearly(
    ctx: StepContext, script_file: Path
) -> None:
    result = run("script", ctx, {"cmd": "report.sh", "executable": "python3 'oops"})
    assert result.failed
    assert "cannot split executable" in result.msg

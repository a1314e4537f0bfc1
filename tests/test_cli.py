"""The command line's contract: version, help, exit codes and the error boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from corral import CorralError, Location, hookimpl
from corral.errors import PlaybookError

CORRAL = str(Path(sys.executable).with_name("corral"))


def test_version_prints_corral_and_python(corral_project):
    result = corral_project.run_subprocess("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("corral 0.1.0 (Python 3.")


def test_version_does_not_import_heavy_libraries():
    code = (
        "import sys; from corral.cli import main; main(['--version']); "
        "heavy = {'jinja2', 'paramiko', 'docker', 'sqlalchemy', 'rich', 'yaml'}; "
        "heavy &= set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


def test_the_command_exits_with_its_code_and_all_its_output(corral_project):
    # The console script leaves with os._exit after the atexit handlers: nothing buffered
    # may be lost, and the exit code is main()'s.
    lines = "".join(f"    - debug: {{msg: line{i}}}\n" for i in range(300))
    corral_project.write("site.yml", f"- hosts: localhost\n  tasks:\n{lines}    - fail:\n")
    # Output to a pipe is block-buffered (unless PYTHONUNBUFFERED says otherwise).
    env = {"CORRAL_STORE": "off", "PYTHONUNBUFFERED": ""}
    result = corral_project.run_subprocess("run", "site.yml", env=env)
    assert result.exit_code == 2
    assert result.stdout.count('"msg": "line') == 300
    assert "failed=1" in result.stdout.rstrip().splitlines()[-1]  # the recap, last


def test_no_arguments_shows_help_and_succeeds(corral_project):
    result = corral_project.run()
    assert result.exit_code == 0
    assert "Usage: corral" in result.stdout


def test_unknown_command_is_a_usage_error(corral_project):
    result = corral_project.run("deploi")
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        "error: No such command 'deploi'.",
        "hint: see 'corral --help'",
    ]


class Failing:
    """A plugin command that raises what it is told to."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    @hookimpl
    def corral_register_commands(self, cli):
        exc = self.exc

        @cli.command()
        def explode():
            raise exc


def test_user_errors_print_one_line_with_location_and_hint(corral_project):
    error = PlaybookError(
        "unknown step type 'shel'",
        hint="did you mean 'shell'?",
        location=Location("site.yml", 12, 7),
    )
    corral_project.plugins.append(Failing(error))
    result = corral_project.run("explode")
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "error: site.yml:12:7: unknown step type 'shel'",
        "hint: did you mean 'shell'?",
    ]


def test_an_internal_error_saves_its_traceback(corral_project, tmp_path):
    corral_project.plugins.append(Failing(ZeroDivisionError("division by zero")))
    result = corral_project.run("explode")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: internal error: ZeroDivisionError: division by zero")
    saved = Path(line.split("traceback saved to ")[1].split(";")[0])
    assert saved.is_relative_to(tmp_path / "corral-home" / "crash")
    assert "Traceback (most recent call last)" in saved.read_text()
    assert "Traceback" not in result.stdout


def test_debug_prints_the_traceback(corral_project):
    corral_project.plugins.append(Failing(ZeroDivisionError("division by zero")))
    result = corral_project.run("--debug", "explode")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ZeroDivisionError" in result.stderr


def test_click_exceptions_from_commands_are_usage_errors(corral_project):
    corral_project.plugins.append(Failing(click.BadParameter("nope")))
    result = corral_project.run("explode")
    assert result.exit_code == 5
    assert "error: Invalid value: nope" in result.stderr


def test_keyboard_interrupt_exits_99(corral_project):
    corral_project.plugins.append(Failing(KeyboardInterrupt()))
    assert corral_project.run("explode").exit_code == 99


def test_error_str_without_location_is_the_message():
    assert str(CorralError("boom")) == "boom"
    assert str(CorralError("boom", location=Location("a.yml", 3))) == "a.yml:3: boom"


def test_python_dash_m_corral_works():
    out = subprocess.run(
        [sys.executable, "-m", "corral", "--version"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0
    assert out.stdout.startswith("corral ")

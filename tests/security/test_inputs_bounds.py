"""Issue 14, items 9 and 10: every YAML and JSON a user hands corral is read within bounds.

Each attack (a 100 MB file, nesting 100,000 levels deep, a "billion laughs" alias bomb,
an inventory script that prints forever) goes through each route a user has (``-e @``,
``-p @``, ``vars_files:``, an inventory file, ``host_vars/``) and must end in one clean
error line naming the file, with a hint and exit 4, within a generous time and memory
bound. The corral process runs as a real subprocess so that its peak RSS can be measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral.testing import CorralProject

pytestmark = pytest.mark.slow

TIME_LIMIT = 30.0  # seconds: generous, a clean refusal takes well under one
MEMORY_LIMIT_MB = 600
DEEP = 100_000

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  params:
    p: {type: string, default: x}
  tasks:
    - debug: {msg: hello}
"""


@dataclass
class Measured:
    """A finished corral subprocess: exit code, output and its own peak RSS."""

    exit_code: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    killed: bool

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def run_measured(project: CorralProject, *args: str, env: dict[str, str] | None = None) -> Measured:
    """Run the installed ``corral`` with ``args``; kill it past :data:`TIME_LIMIT`.

    ``os.wait4`` gives this child's own peak RSS (and its reaped children's), unlike
    ``RUSAGE_CHILDREN``, which would also count every earlier test's subprocesses.
    """
    executable = Path(sys.executable).with_name("corral")
    out_path, err_path = project.path / ".stdout", project.path / ".stderr"
    environ = {**os.environ, "NO_COLOR": "1", **project.env, **(env or {})}
    environ.pop("CORRAL_DEBUG", None)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [str(executable), *args],
            cwd=project.path,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(TIME_LIMIT, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        exit_code=process.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        killed=killed.is_set(),
    )


def assert_clean_refusal(result: Measured, file_name: str, *words: str) -> None:
    """One ``error:`` line naming ``file_name`` and ``words``, a hint, exit 4, in bounds."""
    shown = f"exit {result.exit_code}, {result.peak_rss_mb:.0f} MB\n{result.stderr[-3000:]}"
    assert not result.killed, f"still running after {TIME_LIMIT} s: {shown}"
    assert result.peak_rss_mb < MEMORY_LIMIT_MB, shown
    assert result.exit_code == 4, shown
    errors = result.error_lines()
    assert len(errors) == 1, shown
    assert file_name in errors[0], shown
    for word in words:
        assert word in errors[0], shown
    assert "hint:" in result.stderr, shown
    assert "Traceback" not in result.stderr, shown


# --- the attacks: each writes a file and returns its name --------------------------------


def big_yaml(directory: Path) -> str:
    """A 100 MB mapping of small variables (YAML, one per line)."""
    line = b"variable_%07d: some value to make the line longer\n"
    chunk = b"".join(line % n for n in range(20_000))
    with (directory / "big.yml").open("wb") as handle:
        for _ in range(100 * 2**20 // len(chunk) + 1):
            handle.write(chunk)
    return "big.yml"


def big_json(directory: Path) -> str:
    """A 100 MB JSON object (valid JSON, so the JSON reader meets it first)."""
    with (directory / "big.json").open("wb") as handle:
        handle.write(b'{"filler": [')
        item = b'"' + b"x" * 1000 + b'",'
        handle.write(item * (100 * 2**20 // len(item) + 1))
        handle.write(b'"end"]}')
    return "big.json"


def deep_yaml(directory: Path) -> str:
    """A mapping whose value is nested 100,000 levels deep (YAML, not JSON)."""
    (directory / "deep.yml").write_text("nested: " + "[" * DEEP + "]" * DEEP + "\n")
    return "deep.yml"


def deep_json(directory: Path) -> str:
    """The same nesting as valid JSON."""
    (directory / "deep.json").write_text('{"nested": ' + "[" * DEEP + "]" * DEEP + "}\n")
    return "deep.json"


def alias_bomb(directory: Path) -> str:
    """A "billion laughs": nine levels of nine aliases each, 10**9 strings once expanded."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    (directory / "bomb.yml").write_text("\n".join(lines) + "\n")
    return "bomb.yml"


ATTACKS: dict[str, tuple[Callable[[Path], str], str]] = {
    "big_yaml": (big_yaml, "too big"),
    "big_json": (big_json, "too big"),
    "deep_yaml": (deep_yaml, "nested"),
    "deep_json": (deep_json, "nested"),
    "alias_bomb": (alias_bomb, "alias"),
}


# --- the routes: each writes what is needed around the file and returns the argv --------


Route = Callable[[CorralProject, str], tuple[list[str], str]]


def via_extra_vars(project: CorralProject, name: str) -> tuple[list[str], str]:
    project.write("site.yml", PLAYBOOK)
    return ["run", "site.yml", "-e", f"@{name}"], name


def via_params(project: CorralProject, name: str) -> tuple[list[str], str]:
    project.write("site.yml", PLAYBOOK)
    return ["run", "site.yml", "-p", f"@{name}"], name


def via_vars_files(project: CorralProject, name: str) -> tuple[list[str], str]:
    project.write("site.yml", PLAYBOOK.replace("  tasks:", f"  vars_files: [{name}]\n  tasks:"))
    return ["check", "site.yml"], name


def via_inventory_file(project: CorralProject, name: str) -> tuple[list[str], str]:
    return ["inventory", "-i", name, "--list"], name


def via_host_vars(project: CorralProject, name: str) -> tuple[list[str], str]:
    project.write("inv/hosts.ini", "web1\n")
    (project.path / "inv" / "host_vars").mkdir()
    moved = f"web1{Path(name).suffix}"
    (project.path / name).rename(project.path / "inv" / "host_vars" / moved)
    return ["inventory", "-i", "inv", "--list"], f"host_vars/{moved}"


ROUTES: dict[str, Route] = {
    "extra_vars": via_extra_vars,
    "params": via_params,
    "vars_files": via_vars_files,
    "inventory_file": via_inventory_file,
    "host_vars": via_host_vars,
}


@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("route", list(ROUTES))
def test_user_data_is_read_within_bounds(
    corral_project: CorralProject, route: str, attack: str
) -> None:
    make, word = ATTACKS[attack]
    name = make(corral_project.path)
    args, shown = ROUTES[route](corral_project, name)
    result = run_measured(corral_project, *args)
    assert_clean_refusal(result, shown, word)


def test_inline_extra_vars_alias_bomb_is_refused(corral_project: CorralProject) -> None:
    """``-e '{...}'`` typed on the command line goes through the same bounded reader."""
    corral_project.write("site.yml", PLAYBOOK)
    alias_bomb(corral_project.path)
    text = (corral_project.path / "bomb.yml").read_text().replace("\n", ", ")
    result = run_measured(corral_project, "run", "site.yml", "-e", "{" + text + "}")
    assert not result.killed, result.stderr
    assert result.peak_rss_mb < MEMORY_LIMIT_MB, result.stderr
    assert result.exit_code == 5, result.stderr
    assert len(result.error_lines()) == 1, result.stderr
    assert "alias" in result.error_lines()[0]
    assert "Traceback" not in result.stderr


def test_a_huge_limit_file_is_refused_before_it_is_read_whole(
    corral_project: CorralProject,
) -> None:
    """``--limit @file`` lists host names; a 100 MB one is a usage error, read no further."""
    corral_project.write("hosts.ini", "web1\n")
    with (corral_project.path / "limit.txt").open("w") as handle:
        for _ in range(100):
            handle.write("web1\n" * (1024 * 1024 // 5))
    result = run_measured(
        corral_project, "inventory", "-i", "hosts.ini", "--list", "--limit", "@limit.txt"
    )
    shown = f"exit {result.exit_code}, {result.peak_rss_mb:.0f} MB\n{result.stderr[-2000:]}"
    assert not result.killed, shown
    assert result.peak_rss_mb < MEMORY_LIMIT_MB, shown
    assert result.exit_code == 5, shown
    assert len(result.error_lines()) == 1, shown
    assert "limit.txt" in result.error_lines()[0], shown
    assert "Traceback" not in result.stderr, shown


def test_deep_json_param_value_is_a_clean_params_error(corral_project: CorralProject) -> None:
    """``-p list=[[[...]]]`` for an array param: an invalid param (4), not a RecursionError."""
    corral_project.write("site.yml", PLAYBOOK.replace("p: {type: string", "p: {type: array"))
    depth = 50_000  # fits in one command-line argument (128 KiB)
    result = run_measured(corral_project, "run", "site.yml", "-p", "p=" + "[" * depth + "]" * depth)
    assert not result.killed, result.stderr
    assert result.exit_code == 4, result.stderr
    assert "invalid params" in result.stderr
    assert "Traceback" not in result.stderr


# --- item 10: inventory script output ----------------------------------------------------

ENDLESS_SCRIPT = """\
#!/bin/sh
# Prints a JSON-looking stream that never ends.
printf '{"all": {"hosts": ["'
while :; do printf 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; done
"""


def write_script(project: CorralProject, name: str, text: str) -> Path:
    path = project.write(name, text)
    path.chmod(0o755)
    return path


def test_inventory_script_printing_forever_is_stopped(corral_project: CorralProject) -> None:
    write_script(corral_project, "endless.sh", ENDLESS_SCRIPT)
    result = run_measured(corral_project, "inventory", "-i", "endless.sh", "--list")
    assert_clean_refusal(result, "endless.sh", "more than 64 MiB")
    assert "CORRAL_INVENTORY_MAX_OUTPUT_MB" in result.stderr


def test_inventory_script_output_cap_is_configurable(corral_project: CorralProject) -> None:
    hosts = ", ".join(f'"host{n:05d}"' for n in range(50_000))  # about 650 KB of JSON
    listing = f'{{"all": [{hosts}], "_meta": {{"hostvars": {{}}}}}}'
    write_script(corral_project, "fleet.sh", f"#!/bin/sh\ncat <<'EOF'\n{listing}\nEOF\n")
    small = run_measured(
        corral_project,
        "inventory",
        "-i",
        "fleet.sh",
        "--list",
        env={"CORRAL_INVENTORY_MAX_OUTPUT_MB": "0.5"},
    )
    assert_clean_refusal(small, "fleet.sh", "more than 0.5 MiB")
    default = run_measured(corral_project, "inventory", "-i", "fleet.sh", "--list")
    assert default.exit_code == 0, default.stderr
    assert "host49999" in default.stdout


def test_inventory_output_cap_must_be_a_positive_number(corral_project: CorralProject) -> None:
    write_script(corral_project, "one.sh", '#!/bin/sh\necho \'{"all": ["a"]}\'\n')
    result = corral_project.run(
        "inventory", "-i", "one.sh", "--list", env={"CORRAL_INVENTORY_MAX_OUTPUT_MB": "lots"}
    )
    assert result.exit_code == 5, result.output
    assert "CORRAL_INVENTORY_MAX_OUTPUT_MB" in result.stderr


def test_inventory_script_stderr_flood_is_bounded(corral_project: CorralProject) -> None:
    """A script that writes endlessly to stderr and never exits: the timeout stops it,
    and memory stays bounded while it runs."""
    write_script(
        corral_project,
        "noisy.sh",
        "#!/bin/sh\nwhile :; do printf 'noise noise noise noise noise noise\\n' >&2; done\n",
    )
    result = run_measured(
        corral_project,
        "inventory",
        "-i",
        "noisy.sh",
        "--list",
        env={"CORRAL_INVENTORY_TIMEOUT": "5"},
    )
    assert_clean_refusal(result, "noisy.sh", "within 5 s")


def test_deep_json_from_inventory_script_is_refused(corral_project: CorralProject) -> None:
    write_script(
        corral_project,
        "deep.sh",
        '#!/bin/sh\nprintf \'{"all": {"vars": {"x": %s%s}}}\' '
        f"\"$(printf '%{DEEP}s' | tr ' ' '[')\" \"$(printf '%{DEEP}s' | tr ' ' ']')\"\n",
    )
    result = run_measured(corral_project, "inventory", "-i", "deep.sh", "--list")
    assert_clean_refusal(result, "deep.sh", "nested")


def test_inventory_script_cap_covers_every_host_run(corral_project: CorralProject) -> None:
    """Without ``_meta``, ``--host`` runs once per host: the cap bounds them all together."""
    hosts = ", ".join(f'"h{n}"' for n in range(2_000))
    big_vars = '{"blob": "' + "x" * 20_000 + '"}'
    write_script(
        corral_project,
        "perhost.sh",
        f"""#!/bin/sh
if [ "$1" = --list ]; then echo '{{"all": [{hosts}]}}'; else echo '{big_vars}'; fi
""",
    )
    result = run_measured(
        corral_project,
        "inventory",
        "-i",
        "perhost.sh",
        "--list",
        env={"CORRAL_INVENTORY_MAX_OUTPUT_MB": "1"},
    )
    assert_clean_refusal(result, "perhost.sh", "more than 1 MiB", "--host")

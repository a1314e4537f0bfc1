"""Loading and templating a playbook: corral against PyYAML, Jinja2 and ansible-core, in one run.

    .venv/bin/python bench/bench_playbook.py [--repeat 3] [--tasks 20000] [--skip-ansible]

1. Loading a 5 MB playbook of 20,000 tasks (``--tasks``; the shape of tests/test_yamlload.py's big
   playbook), in process: corral's ``load_yaml_file`` (line and column marks on every
   node, duplicate keys and nesting checked) against PyYAML's ``yaml.load`` with libyaml
   and with the pure-Python loader, and ansible-core's ``DataLoader.load``.
2. What corral refuses, in process: a file over 10 MiB, a billion-laughs alias bomb and
   100,000 levels of nesting.
3. ``corral check`` of that playbook as a whole process (start-up included) against
   ``ansible-playbook --syntax-check``.
4. Rendering a cached template string: corral's ``Templar.render_string`` against a
   Jinja2 template compiled once and ansible-core's ``Templar.template``.

Best of ``--repeat`` (ansible-core's whole process: one run). Prints Markdown for
bench/RESULTS.md. These figures were timed assertions in the tests before.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import yaml
from _common import VENV_BIN, best_of, table

from corral.errors import PlaybookError
from corral.playbook.yaml.load import MAX_FILE_BYTES, load_yaml_file, load_yaml_text

TASK = (
    "    - name: Install and restart app {i}\n"
    '      shell: "apt-get install -y app-{i}={{{{ version }}}}"\n'
    "      when: inventory_hostname in groups['web']\n"
    "      register: result_{i}\n"
    "      retries: 3\n"
    "      ignore_errors: no\n"
    "      tags: [install, app]\n"
    "      environment: {{LANG: C.UTF-8}}\n"
)


def big_playbook(tasks: int = 20_000) -> str:
    """One play of ``tasks`` eight-line tasks: 5.3 MB for 20,000."""
    head = "- name: Big play\n  hosts: all\n  vars:\n    port: 8080\n    version: 1.0\n  tasks:\n"
    return head + "".join(TASK.format(i=i) for i in range(tasks))


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def best_seconds(repeat: int, call: Callable[[], Any]) -> float:
    """The fastest of ``repeat`` calls of ``call``, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def refused(call: Callable[[], Any]) -> Callable[[], None]:
    """``call``, which must raise PlaybookError, as a call that returns."""

    def run() -> None:
        try:
            call()
        except PlaybookError:
            return
        raise AssertionError("corral accepted what it should refuse")

    return run


def ansible_loader() -> Callable[[str], Any] | None:
    try:
        from ansible.parsing.dataloader import DataLoader
    except ImportError:
        return None
    loader = DataLoader()
    load: Callable[[str], Any] = loader.load
    return load


def ansible_template() -> Callable[[str, dict[str, Any]], Any] | None:
    try:
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar as AnsibleTemplar
    except ImportError:
        return None
    loader = DataLoader()

    def render(text: str, variables: dict[str, Any]) -> Any:
        return AnsibleTemplar(loader=loader, variables=variables).template(text)

    return render


def loading(work: Path, repeat: int, tasks: int, skip_ansible: bool) -> list[str]:
    path = work / "big.yml"
    text = big_playbook(tasks)
    path.write_text(text)
    rows = [
        ("corral `load_yaml_file`", lambda: load_yaml_file(path)),
        ("PyYAML `yaml.load`, libyaml (CSafeLoader)", lambda: yaml.load(text, yaml.CSafeLoader)),
        ("PyYAML `yaml.load`, pure Python (SafeLoader)", lambda: yaml.load(text, yaml.SafeLoader)),
    ]
    load = None if skip_ansible else ansible_loader()
    if load is not None:
        rows.append(("ansible-core `DataLoader.load`", lambda: load(text)))
    size = path.stat().st_size / 1e6
    lines = [
        f"Loading a {size:.1f} MB playbook of {tasks:,} tasks, in process, best of {repeat}:\n"
    ]
    lines += ["| loader | seconds |", "| --- | ---: |"]
    lines += [f"| {label} | {best_seconds(repeat, call):.2f} |" for label, call in rows]
    huge = work / "huge.yml"
    huge.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    refusals = [
        ("a 10 MiB file (over the limit)", refused(lambda: load_yaml_file(huge))),
        ("a billion-laughs alias bomb", refused(lambda: load_yaml_text(billion_laughs(), "b"))),
        (
            "100,000 levels of nesting",
            refused(lambda: load_yaml_text("[" * 100_000 + "]" * 100_000, "d")),
        ),
    ]
    lines += ["", f"corral refusing, in process, best of {repeat}:\n"]
    lines += ["| input | ms |", "| --- | ---: |"]
    lines += [f"| {what} | {best_seconds(repeat, call) * 1000:.1f} |" for what, call in refusals]
    return lines


def checking(work: Path, repeat: int, skip_ansible: bool) -> list[str]:
    (work / "hosts.ini").write_text("localhost ansible_connection=local\n")
    env = {"CORRAL_HOME": str(work / "home"), "ANSIBLE_HOME": str(work / "ansible")}
    corral = str(VENV_BIN / "corral")
    rows = [
        best_of(
            repeat,
            "corral check",
            [corral, "check", "big.yml", "-i", "hosts.ini"],
            cwd=work,
            env=env,
        )
    ]
    if not skip_ansible:
        ansible = str(VENV_BIN / "ansible-playbook")
        argv = [ansible, "--syntax-check", "-i", "hosts.ini", "big.yml"]
        rows.append(best_of(1, "ansible-playbook --syntax-check", argv, cwd=work, env=env))
    return ["", "Checking that playbook, whole process:\n", table(rows, baseline="corral check")]


def templating(repeat: int, skip_ansible: bool, calls: int = 2000) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from jinja_templar import jinja_templar

    variables = {f"var{i}": f"value {i}" for i in range(48)} | {"x": 1, "y": "abc"}
    text = "{{ x }}-{{ y | upper }}"
    templar = jinja_templar()
    compiled = jinja2.Environment().from_string(text)
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("corral `Templar.render_string`", lambda: templar.render_string(text, variables)),
        ("Jinja2, compiled once, `render`", lambda: compiled.render(variables)),
    ]
    render = None if skip_ansible else ansible_template()
    if render is not None:
        rows.append(("ansible-core `Templar.template`", lambda: render(text, variables)))
    lines = ["", f"Rendering `{text}` again (cached), per call, best of {repeat} x {calls}:\n"]
    lines += ["| renderer | us per call |", "| --- | ---: |"]
    for label, call in rows:
        call()  # compiled and cached before timing

        def many(call: Callable[[], Any] = call) -> None:
            for _ in range(calls):
                call()

        lines.append(f"| {label} | {best_seconds(repeat, many) / calls * 1e6:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--skip-ansible", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lines = ["## Loading and templating a playbook", ""]
        lines += loading(work, args.repeat, args.tasks, args.skip_ansible)
        lines += checking(work, args.repeat, args.skip_ansible)
        lines += templating(args.repeat, args.skip_ansible)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

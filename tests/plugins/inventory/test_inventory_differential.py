"""corral reads every corpus inventory exactly as ansible-inventory (ansible-core) does.

Each directory under ``inventory_corpus/`` (next to this file) is one case: its inventory
(``hosts*`` or ``inventory*``, or what ``case.yml`` names) is read by both
tools, and ``--list``, ``--graph --vars``, ``--host`` (for every host against
``--list``'s host variables, for some against ``ansible-inventory --host``), and
``--list --limit``/``--list --yaml`` where ``case.yml`` asks, must agree: JSON
and YAML compared as data, the graph as text. The ansible-inventory runs are
started for all cases at once on a thread pool, so the module takes about as
long as ansible-core needs on the machine's cores.

``case.yml`` keys: ``sources`` (list, relative to the case), ``playbook_dir``,
``hosts`` (hosts to check against ``ansible-inventory --host`` too), ``limits``
(``--list --limit`` runs), ``yaml`` (also compare ``--list --yaml``), ``graph``
(extra ``--graph GROUP``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import run
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from corral.cli import CliState
from corral.commands.inventory import inventory
from corral.plugins import build_registry, make_plugin_manager

CORPUS = Path(__file__).parent / "inventory_corpus"
ANSIBLE_INVENTORY = Path(sys.executable).with_name("ansible-inventory")


@dataclass
class Case:
    name: str
    directory: Path
    sources: list[str]
    playbook_dir: str | None = None
    hosts: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    yaml: bool = False
    graph: list[str] = field(default_factory=list)

    def base_args(self) -> list[str]:
        args = []
        for source in self.sources:
            path = self.directory / source
            args += ["-i", str(path) if path.exists() else source]
        if self.playbook_dir:
            args += ["--playbook-dir", str(self.directory / self.playbook_dir)]
        return args

    def limit_arg(self, limit: str) -> str:
        return "@" + str(self.directory / limit[1:]) if limit.startswith("@") else limit


def _load_case(directory: Path) -> Case:
    spec_path = directory / "case.yml"
    spec: dict[str, Any] = yaml.safe_load(spec_path.read_text()) if spec_path.exists() else {}
    sources = spec.pop(
        "sources",
        sorted(p.name for p in directory.iterdir() if p.name.startswith(("hosts", "inventory"))),
    )
    assert sources, f"corpus case {directory.name} has no inventory"
    return Case(directory.name, directory, sources, **spec)


CASES = [_load_case(d) for d in sorted(CORPUS.iterdir()) if d.is_dir()]
# Every ansible-inventory run starts in the module fixture; the first tests wait for
# theirs, which a loaded machine (or pytest-xdist beside other tests) makes slow.
pytestmark = pytest.mark.timeout(900)


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20


class Ansible:
    """Runs ansible-inventory in the background, one future per command line."""

    def __init__(self, home: Path) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
            "LC_ALL": "C.UTF-8",
        }
        self.pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
        self.runs: dict[tuple[str, ...], Future[str]] = {}

    def start(self, case: Case, args: list[str]) -> None:
        key = (case.name, *args)
        if key not in self.runs:
            self.runs[key] = self.pool.submit(self._run, case, args)

    def result(self, case: Case, args: list[str]) -> str:
        self.start(case, args)
        return self.runs[(case.name, *args)].result()

    def _run(self, case: Case, args: list[str]) -> str:
        command = [sys.executable, str(ANSIBLE_INVENTORY), *case.base_args(), *args]
        proc = run(
            command,
            cwd=case.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"ansible-inventory {args} failed:\n{proc.stderr}"
        return proc.stdout


def _first_commands(case: Case) -> list[list[str]]:
    commands = [["--list"], ["--graph", "--vars"]]
    commands += [["--graph", group] for group in case.graph]
    commands += [["--list", "--limit", case.limit_arg(limit)] for limit in case.limits]
    if case.yaml:
        commands.append(["--list", "--yaml"])
    commands += [["--host", host] for host in case.hosts]
    return commands


@pytest.fixture(scope="module")
def ansible(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ansible]:
    if not ANSIBLE_INVENTORY.exists():
        pytest.fail(f"ansible-core (a test dependency) is not installed: no {ANSIBLE_INVENTORY}")
    home = tmp_path_factory.mktemp("ansible-home")
    (home / ".ansible").mkdir()
    runner = Ansible(home)
    for case in CASES:
        for command in _first_commands(case):
            runner.start(case, command)
    yield runner
    runner.pool.shutdown(wait=True, cancel_futures=True)


# The registry gives the command its readers, as under `corral`: the built-in ones.
STATE = CliState(registry=build_registry(make_plugin_manager({})), environ={})


def corral(case: Case, args: list[str]) -> str:
    result = CliRunner().invoke(
        inventory, [*case.base_args(), *args], obj=STATE, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _all_hosts(listing: dict[str, Any]) -> list[str]:
    names: set[str] = set(listing["_meta"]["hostvars"])
    for name, group in listing.items():
        if name != "_meta":
            names.update(group.get("hosts", ()))
    return sorted(names)


def _without_unsafe_markers(value: Any) -> Any:
    """``--list`` wraps ``!unsafe`` strings in ``{"__ansible_unsafe": ...}``, ``--host`` not."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return {key: _without_unsafe_markers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_unsafe_markers(item) for item in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_as_ansible_inventory(case: Case, ansible: Ansible) -> None:
    expected = json.loads(ansible.result(case, ["--list"]))
    assert json.loads(corral(case, ["--list"])) == expected

    # Every host's --host against the variables ansible-inventory --list reported (the
    # same function computes both there), and a few against ansible-inventory --host.
    hosts = _all_hosts(expected)
    checked = list(dict.fromkeys([*hosts[:1], *case.hosts]))
    for host in checked:
        ansible.start(case, ["--host", host])
    hostvars = _without_unsafe_markers(expected["_meta"]["hostvars"])
    for host in hosts:
        assert json.loads(corral(case, ["--host", host])) == hostvars.get(host, {}), host
    for host in checked:
        args = ["--host", host]
        assert json.loads(corral(case, args)) == json.loads(ansible.result(case, args)), host

    for limit in case.limits:
        args = ["--list", "--limit", case.limit_arg(limit)]
        assert json.loads(corral(case, args)) == json.loads(ansible.result(case, args)), limit

    for args in (["--graph", "--vars"], *(["--graph", group] for group in case.graph)):
        assert corral(case, args).rstrip() == ansible.result(case, args).rstrip(), args

    if case.yaml:
        args = ["--list", "--yaml"]
        assert yaml.safe_load(corral(case, args)) == yaml.safe_load(ansible.result(case, args))

"""Differential tests: the same playbooks through ``corral run`` and ``ansible-playbook``.

Each playbook in ``tests/compat/playbooks/`` runs once with each tool, against the local
connection, in a temp directory of its own (``-e workdir=...``). What a user would see
must match: the per-host recap counters, each host's debug messages in order, and the
exit code (through the mapping in docs/ansible-compat.md). A playbook's first comment
lines choose its inventory and extra arguments, passed to both tools::

    # inventory: three
    # args: --check -e greeting=hi

``{http}`` in the args is the URL of a loopback HTTP server serving ``compat/www/``
(for ``get_url``), started once for the module.

Ansible's results are collected by ``compat/callback_plugins/compat_events.py``, which
writes them in the shape of corral's JSON events, so one reader serves both tools. All
runs happen in parallel, once, in a module-scoped fixture; each playbook is one test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

COMPAT = Path(__file__).resolve().parent / "compat"
PLAYBOOKS = sorted((COMPAT / "playbooks").glob("*.yml"))
BIN = Path(sys.executable).parent
TIMEOUT = 120  # seconds, per tool run; a healthy run takes one to three
# The first test waits for the module fixture, which runs both tools on every case
# (about 90 s on two idle cores, several minutes on a loaded machine).
pytestmark = pytest.mark.timeout(1200)

# Known differences from Ansible: playbook name -> what differs.
# Each is a strict xfail, so a change of behaviour makes the test fail until its line is removed.
CORRAL_BUGS: dict[str, str] = {
    # Deliberate deviations (docs/ansible-compat.md), kept as strict xfails so a change
    # of behaviour on either side shows up here.
    "38_until_exhausted": "deliberate: after running out of retries `attempts` is the real "
    "number of attempts (retries + 1); Ansible reports `retries`",
    "48_any_errors_fatal_rescued": "deliberate: under any_errors_fatal a rescued failure "
    "does not end the play, but corral does not run the rescue on the hosts that did not "
    "fail, as Ansible does",
}

# Keys of a debug result that are bookkeeping, not what the user asked to print.
DEBUG_META_KEYS = frozenset(
    {
        "changed",
        "failed",
        "skipped",
        "warnings",
        "ansible_loop_var",
        "ansible_index_var",
        "ansible_loop",
    }
)
# What ansible-core 2.19 shows for `debug: var:` of an undefined name; corral keeps the
# message of earlier Ansible versions (docs/ansible-compat.md).
ANSIBLE_UNDEFINED = re.compile(r"^<< error \d+ - '.*' is undefined >>$")
CORRAL_UNDEFINED = "VARIABLE IS NOT DEFINED!"


@dataclass(frozen=True)
class Case:
    """One playbook and how to run it."""

    name: str
    path: Path
    inventory: Path
    args: tuple[str, ...]


@dataclass(frozen=True)
class ToolRun:
    """What one tool did with one playbook."""

    tool: str
    exit_code: int
    events: list[dict[str, Any]]
    output: str
    workdir: Path


@dataclass(frozen=True)
class Seen:
    """What a user sees of a run, reduced to what the two tools must agree on."""

    exit_code: int
    recap: dict[str, dict[str, int]]
    debug: dict[str, list[Any]]


def load_case(path: Path) -> Case:
    """Read the ``# inventory:`` and ``# args:`` header of a compat playbook."""
    header: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line.lstrip("# ").partition(":")
        if sep and key in ("inventory", "args"):
            header[key] = value.strip()
    inventory = COMPAT / f"{header.get('inventory', 'one')}.ini"
    # {compat} in args is this directory: the tools run elsewhere (a vault password file).
    args = header.get("args", "").replace("{compat}", str(COMPAT))
    return Case(path.stem, path, inventory, tuple(shlex.split(args)))


CASES = [load_case(p) for p in PLAYBOOKS]


# The loopback server of compat/www/ ("{http}" in a case's args), set by the runs fixture.
HTTP_BASE: list[str] = []


def _args(case: Case) -> list[str]:
    base = HTTP_BASE[0] if HTTP_BASE else "http://127.0.0.1:9"
    return [arg.replace("{http}", base) for arg in case.args]


def _serve_www() -> Any:
    """Serve compat/www/ on 127.0.0.1 (any free port) in a thread; returns the server."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(COMPAT / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    HTTP_BASE[:] = [f"http://127.0.0.1:{server.server_address[1]}"]
    return server


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    env.update(HOME=str(tmp / "home"), NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run_corral(case: Case, tmp: Path) -> ToolRun:
    """``corral run PLAYBOOK -i INV --output json``; the events are its stdout lines."""
    workdir = _workdir(tmp)
    env = _env(tmp, CORRAL_HOME=str(tmp / "corral-home"))
    argv = [str(BIN / "corral"), "run", str(case.path), "-i", str(case.inventory)]
    argv += ["--output", "json", "-e", f"workdir={workdir}", *_args(case)]
    proc = subprocess.run(
        argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return ToolRun("corral", proc.returncode, events, proc.stdout + proc.stderr, workdir)


def run_ansible(case: Case, tmp: Path) -> ToolRun:
    """``ansible-playbook -i INV PLAYBOOK`` with the compat_events callback writing events."""
    workdir = _workdir(tmp)
    events_file = tmp / "events.jsonl"
    env = _env(
        tmp,
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(tmp / "ansible-remote"),
        ANSIBLE_CALLBACK_PLUGINS=str(COMPAT / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="compat_events",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        CORRAL_COMPAT_EVENTS=str(events_file),
    )
    argv = [str(BIN / "ansible-playbook"), "-i", str(case.inventory), str(case.path)]
    argv += ["-e", f"workdir={workdir}", *_args(case)]
    proc = subprocess.run(
        argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    text = events_file.read_text() if events_file.exists() else ""
    events = [json.loads(line) for line in text.splitlines()]
    return ToolRun("ansible", proc.returncode, events, proc.stdout + proc.stderr, workdir)


def _workdir(tmp: Path) -> Path:
    workdir = tmp / "work"
    workdir.mkdir(parents=True)
    return workdir


def debug_message(result: Mapping[str, Any]) -> Any:
    """What ``debug`` printed: its ``msg``, or the ``var: value`` pairs it showed."""
    if "msg" in result:
        return result["msg"]
    hidden = DEBUG_META_KEYS | {result.get("ansible_index_var")}
    return {k: v for k, v in result.items() if k not in hidden and not k.startswith("_ansible")}


def seen(run: ToolRun) -> Seen:
    """The recap, per-host debug messages and exit code of a run, in corral's terms."""
    recap: dict[str, dict[str, int]] = {}
    debug: dict[str, list[Any]] = {}
    for event in run.events:
        kind = event.get("event")
        if kind == "recap":
            # Hosts that never started (a later batch after an abort) are in neither recap.
            recap = {h: dict(c) for h, c in event["hosts"].items()}
        elif kind in ("task_result", "item_result") and _is_debug_output(event):
            debug.setdefault(event["host"], []).append(debug_message(event["result"]))
    # Paths under the run's own workdir differ between the two tools by design.
    debug = json.loads(json.dumps(debug).replace(str(run.workdir), "WORKDIR"))
    return Seen(exit_code=run.exit_code, recap=recap, debug=debug)


def _is_debug_output(event: Mapping[str, Any]) -> bool:
    result = event.get("result") or {}
    return (
        str(event.get("action", "")).split(".")[-1] == "debug"
        and event.get("status") == "ok"
        and "results" not in result  # a loop's summary; its items were shown one by one
    )


def ansible_as_corral(ansible: Seen) -> Seen:
    """Ansible's view with its deliberate differences from corral's mapped away.

    The exit code for an unreachable host, and ``debug: var:`` of an undefined name
    (docs/ansible-compat.md lists both).
    """
    code = ansible.exit_code
    if code == 4:  # unreachable; Ansible says 4 even when another host failed
        failed = any(c["failed"] for c in ansible.recap.values())
        code = 2 if failed else 3
    debug = {
        host: [_undefined_as_corral(m) for m in messages]
        for host, messages in ansible.debug.items()
    }
    return Seen(exit_code=code, recap=ansible.recap, debug=debug)


def _undefined_as_corral(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    return {
        key: CORRAL_UNDEFINED
        if isinstance(value, str) and ANSIBLE_UNDEFINED.match(value)
        else value
        for key, value in message.items()
    }


def run_both(case: Case, tmp: Path) -> tuple[ToolRun, ToolRun]:
    """Run the case with both tools, each in a directory of its own under ``tmp``."""
    return run_corral(case, tmp / "corral"), run_ansible(case, tmp / "ansible")


def selected_cases(session: pytest.Session) -> list[Case]:
    """The cases this session will test: all, unless ``-k`` or a test id narrows them."""
    wanted: set[str] = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if isinstance(item, pytest.Function) and callspec is not None:
            case = callspec.params.get("case")
            if isinstance(case, Case):
                wanted.add(case.name)
    return [c for c in CASES if c.name in wanted]


def _cost(case: Case) -> int:
    """A rough guess of a case's run time, to start the slow ones first."""
    hosts = 3 if case.inventory.name == "three.ini" else 1
    return len(case.path.read_text().splitlines()) * hosts


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[ToolRun, ToolRun]]:
    """Both tools' runs of every selected case, done in parallel once for the module."""
    if not (BIN / "ansible-playbook").exists():
        pytest.fail("ansible-core is a test dependency: pip install -e '.[dev]'")
    cases = sorted(selected_cases(request.session), key=_cost, reverse=True)
    # ansible-playbook is CPU-bound; two runs per core keep the cores busy while one waits.
    workers = max(2, 2 * (os.cpu_count() or 1))
    server = _serve_www()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                c.name: pool.submit(run_both, c, tmp_path_factory.mktemp(c.name)) for c in cases
            }
            return {name: future.result() for name, future in futures.items()}
    finally:
        server.shutdown()
        server.server_close()


def _params(cases: Sequence[Case]) -> list[Any]:
    params = []
    for case in cases:
        marks = []
        if case.name in CORRAL_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=CORRAL_BUGS[case.name]))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25
    inventories = {c.inventory.name for c in CASES}
    assert {"one.ini", "three.ini"} <= inventories


def timeline(run: ToolRun) -> str:
    """One line per result, in the order the tool reported them, for failure messages."""
    lines = [f"{run.tool}: exit code {run.exit_code}"]
    for event in run.events:
        kind = event.get("event")
        if kind in ("task_result", "item_result"):
            mark = "  item" if kind == "item_result" else ""
            handler = " (handler)" if event.get("handler") else ""
            shown = ""
            if _is_debug_output(event):
                shown = " " + json.dumps(debug_message(event["result"]))
            elif event.get("status") in ("failed", "ignored", "unreachable"):
                shown = " " + json.dumps(str(event["result"].get("msg", ""))[:200])
            lines.append(
                f"  {event['host']}: {event['task']}{handler}{mark} -> {event['status']}{shown}"
            )
        elif kind == "recap":
            lines.append(f"  recap {json.dumps(event['hosts'], sort_keys=True)}")
    if not any(e.get("event") == "recap" for e in run.events):
        lines.append(run.output[-4000:])
    return "\n".join(lines)


@pytest.mark.parametrize("case", _params(CASES))
def test_same_as_ansible(case: Case, runs: dict[str, tuple[ToolRun, ToolRun]]) -> None:
    corral_run, ansible_run = runs[case.name]
    assert ansible_run.exit_code in (0, 2, 4), (
        f"ansible-playbook itself failed:\n{ansible_run.output}"
    )
    assert any(e.get("event") == "recap" for e in ansible_run.events), ansible_run.output
    assert corral_run.events, corral_run.output
    assert corral_run.events[-1].get("event") == "recap", corral_run.output[-4000:]
    ours, theirs = seen(corral_run), ansible_as_corral(seen(ansible_run))
    context = f"\n{timeline(corral_run)}\n{timeline(ansible_run)}"
    assert ours.debug == theirs.debug, "debug messages differ" + context
    assert ours.recap == theirs.recap, "recap differs" + context
    assert ours.exit_code == theirs.exit_code, "exit code differs" + context

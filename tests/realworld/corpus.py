"""Run the real-world corpus: public playbooks and roles, unchanged, through corral and Ansible.

Shared by ``test_realworld.py`` (one pytest case per corpus case) and ``triage.py`` (a
table of every case, to re-triage after a merge). ``cases.yml`` lists the cases; each one
names a playbook inside ``content/<source>/`` (files copied byte for byte from a public
repository, SOURCES.md says which), an inventory, extra vars and a mode:

- ``check-only``: ``corral check`` accepts the playbook.
- ``check-mode-run``: ``corral check`` accepts it and ``corral run --check`` exits with
  ``check_exit`` (default 0). For content that writes to system paths: nothing is
  changed on this machine.
- ``real-run-compare``: as ``check-mode-run``, then a real ``corral run`` and a real
  ``ansible-playbook`` on the same inventory must agree on the recap, on each host's
  sequence of task results (ok/changed/skipped/failed...) and on the exit code. Only
  for content that writes nowhere but its own run directory.

Every run happens in a fresh directory of its own: the case's source tree is copied
there (content that writes next to the playbook writes into the copy), the run's
working directory gets an ``ansible.cfg`` (``gathering``, ``roles_path``) that both
tools read, and ``{workdir}`` in extra vars becomes a scratch directory in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
if str(TESTS) not in sys.path:  # triage.py runs as a script, outside pytest's pythonpath
    sys.path.insert(0, str(TESTS))

import sshd  # noqa: E402
from sshd import SshdFleet  # noqa: E402
from test_ansible_compat import (  # noqa: E402  the compat test's machinery, reused
    COMPAT,
    ToolRun,
    ansible_as_corral,
    seen,
    timeline,
)

CONTENT = HERE / "content"
BIN = Path(sys.executable).parent
TIMEOUT = 120  # seconds per tool run; a healthy run takes one to three
MODES = ("check-only", "check-mode-run", "real-run-compare")


@dataclass(frozen=True)
class Case:
    """One corpus case, as ``cases.yml`` describes it."""

    name: str
    source: str  # a directory under content/
    playbook: str  # relative to the source directory
    inventory: str  # relative to tests/realworld/, or to the source with "source:"
    mode: str
    expect: str = "pass"
    reason: str = ""
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    gathering: str = "explicit"
    roles_path: tuple[str, ...] = ()
    check_exit: int = 0
    limit: str = ""
    args: tuple[str, ...] = ()
    cwd: str = ""  # run from this directory of the copied source (default: the run's own)

    @property
    def real(self) -> bool:
        return self.mode == "real-run-compare"

    @property
    def runs_check_mode(self) -> bool:
        return self.mode in ("check-mode-run", "real-run-compare")


def load_cases(path: Path = HERE / "cases.yml") -> list[Case]:
    """Read and validate ``cases.yml``; a mistake in it fails loudly, naming the case."""
    data = yaml.safe_load(path.read_text())
    cases = []
    for raw in data["cases"]:
        name = raw.get("name", "?")
        unknown = set(raw) - set(Case.__dataclass_fields__)
        if unknown:
            raise ValueError(f"cases.yml: case {name}: unknown keys {sorted(unknown)}")
        tuples = {k: tuple(raw.get(k, ())) for k in ("roles_path", "args")}
        case = Case(**{**raw, **tuples})
        if case.mode not in MODES:
            raise ValueError(f"cases.yml: case {name}: mode must be one of {MODES}")
        if case.expect not in ("pass", "xfail") or (case.expect == "xfail") != bool(case.reason):
            raise ValueError(f"cases.yml: case {name}: expect pass, or xfail with a reason")
        if not (CONTENT / case.source / case.playbook).is_file():
            raise ValueError(f"cases.yml: case {name}: no playbook {case.playbook}")
        cases.append(case)
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError("cases.yml: case names must be unique")
    return cases


@dataclass
class Outcome:
    """What happened to one case: each phase's verdict, and the first problem seen."""

    case: Case
    check: str = "-"  # "ok", "FAIL" or "-" (not run)
    check_mode: str = "-"
    real: str = "-"
    problems: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    skipped: str = ""  # why the case could not run here (no SSH test hosts)

    @property
    def passed(self) -> bool:
        return not self.problems

    def fail(self, phase: str, problem: str, detail: str = "") -> None:
        setattr(self, phase, "FAIL")
        self.problems.append(problem)
        if detail:
            self.details.append(detail)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    env.update(HOME=str(home / "home"), NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


@dataclass(frozen=True)
class RunDir:
    """A run's directory: the copied source tree, the scratch workdir and ansible.cfg."""

    root: Path
    src: Path
    work: Path
    cwd: Path
    inventory: Path | None = None  # an inventory rendered for the SSH test hosts


def prepare(case: Case, root: Path, fleet: SshdFleet | None = None) -> RunDir:
    """Copy the case's source into ``root`` and write the ansible.cfg both tools read.

    The run's working directory is ``root``, or the case's ``cwd`` in the copy; an
    ansible.cfg the content has there is used as it is, else ours is written there.
    """
    root.mkdir(parents=True, exist_ok=True)
    src = root / "src"
    shutil.copytree(CONTENT / case.source, src, symlinks=True)
    work = root / "work"
    work.mkdir()
    (root / "home").mkdir()
    cwd = src / case.cwd if case.cwd else root
    lines = ["[defaults]", f"gathering = {case.gathering}", "host_key_checking = False"]
    if case.roles_path:
        lines.append("roles_path = " + ":".join(str(src / p) for p in case.roles_path))
    if not (cwd / "ansible.cfg").exists():
        (cwd / "ansible.cfg").write_text("\n".join(lines) + "\n")
    inventory = None
    if fleet is not None and ssh_hosts_needed(case):
        inventory = root / "ssh-inventory.ini"
        inventory.write_text(ssh_inventory(case, fleet))
    return RunDir(root, src, work, cwd, inventory)


def ssh_hosts_needed(case: Case) -> int:
    """How many SSH test hosts the case's inventory template asks for (``{ssh}`` markers)."""
    if not case.inventory.startswith("ssh:"):
        return 0
    return (HERE / case.inventory.removeprefix("ssh:")).read_text().count("{ssh}")


def ssh_inventory(case: Case, fleet: SshdFleet) -> str:
    """The case's inventory template with each ``{ssh}`` replaced by one test host's vars."""
    text = (HERE / case.inventory.removeprefix("ssh:")).read_text()
    for host in fleet.hosts[: ssh_hosts_needed(case)]:
        pairs = {
            **fleet.host_vars(host),
            "ansible_python_interpreter": "/usr/bin/python3",
            "corral_known_hosts": str(fleet.root / "known_hosts"),
        }
        text = text.replace("{ssh}", " ".join(f"{k}={v}" for k, v in pairs.items()), 1)
    return text


def _inventory(case: Case, run: RunDir) -> list[str]:
    if run.inventory is not None:
        return ["-i", str(run.inventory)]
    if not case.inventory:  # the content's ansible.cfg names it
        return []
    if case.inventory.startswith("source:"):
        return ["-i", str(run.src / case.inventory.removeprefix("source:"))]
    return ["-i", str(HERE / case.inventory)]


def _args(case: Case, run: RunDir) -> list[str]:
    args = _inventory(case, run)
    if case.extra_vars:
        text = json.dumps(case.extra_vars).replace("{workdir}", str(run.work))
        args += ["-e", text]
    if case.limit:
        args += ["--limit", case.limit]
    return args


def _run(
    argv: Sequence[str], run: RunDir, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            cwd=run.cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # a hung run is a failed case, not a crash
        output = exc.output if isinstance(exc.output, str) else ""
        return subprocess.CompletedProcess(
            argv, -1, "", f"error: timed out after {TIMEOUT} s\n{output}"
        )


def corral(case: Case, run: RunDir, command: str, *extra: str) -> ToolRun:
    """``corral check`` or ``corral run`` of the case, its JSON events parsed."""
    env = _env(run.root, CORRAL_HOME=str(run.root / "corral-home"))
    argv = [str(BIN / "corral"), command, str(run.src / case.playbook), *_args(case, run)]
    if command == "run":
        argv += ["--output", "json", "--no-store", *case.args, *extra]
    proc = _run(argv, run, env)
    events = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return ToolRun("corral", proc.returncode, events, proc.stdout + proc.stderr, run.work)


def ansible(case: Case, run: RunDir, *extra: str) -> ToolRun:
    """``ansible-playbook`` of the case, with the compat callback writing its events."""
    events_file = run.root / "events.jsonl"
    # On an SSH test host the remote user cannot write in our private directory: Ansible
    # keeps its default remote temp (the user's home) there.
    # No ControlMaster either: its socket path under our temp directory is too long for a
    # unix socket, and a persisting master would outlive the run.
    remote = {"ANSIBLE_REMOTE_TEMP": str(run.root / "ansible-remote")}
    if run.inventory:
        remote = {"ANSIBLE_SSH_ARGS": "-C -o ControlMaster=no"}
    env = _env(
        run.root,
        **remote,
        ANSIBLE_HOME=str(run.root / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(run.root / "ansible-local"),
        ANSIBLE_CALLBACK_PLUGINS=str(COMPAT / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="compat_events",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        CORRAL_COMPAT_EVENTS=str(events_file),
    )
    argv = [str(BIN / "ansible-playbook"), str(run.src / case.playbook), *_args(case, run)]
    argv += case.args
    proc = _run([*argv, *extra], run, env)
    text = events_file.read_text() if events_file.exists() else ""
    events = [json.loads(line) for line in text.splitlines()]
    return ToolRun("ansible", proc.returncode, events, proc.stdout + proc.stderr, run.work)


def first_error(output: str) -> str:
    """The line of a tool's output that says what went wrong, for one-line reports."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("{"):
            continue
        lowered = line.lower()
        if "error" in lowered or "fatal" in lowered or "failed" in lowered:
            return line[:300]
    for line in reversed(lines):
        if line.startswith("{") and _is_failure(line):
            return _failed_event(line)
    return (lines[-1] if lines else "(no output)")[:300]


def _is_failure(line: str) -> bool:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return False
    return event.get("event") == "task_result" and event.get("status") in (
        "failed",
        "unreachable",
    )


def _failed_event(line: str) -> str:
    event = json.loads(line)
    msg = str((event.get("result") or {}).get("msg", ""))
    return f"{event.get('host')}: {event.get('task')}: {msg}"[:300]


def statuses(run: ToolRun) -> dict[str, list[str]]:
    """Each host's task results in order, as ``status`` (``handler:status`` for handlers)."""
    per_host: dict[str, list[str]] = {}
    for event in run.events:
        if event.get("event") != "task_result":
            continue
        status = str(event["status"])
        if event.get("handler"):
            status = "handler:" + status
        per_host.setdefault(str(event["host"]), []).append(status)
    return per_host


def run_all(cases: Sequence[Case], tmp: Path, jobs: int) -> list[Outcome]:
    """Run ``cases`` in parallel; start the SSH test hosts first if a case needs them."""
    fleet: SshdFleet | None = None
    needed = max((ssh_hosts_needed(c) for c in cases), default=0)
    if needed and sshd.unavailable_reason() is None:
        fleet = sshd.start_fleet(needed, prefix="rw")
        (fleet.root / "known_hosts").write_text(fleet.known_hosts())
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_guarded, c, tmp / c.name, fleet) for c in cases]
            return [f.result() for f in futures]
    finally:
        if fleet is not None:
            fleet.stop()
            sshd.retire_test_user()


def _guarded(case: Case, tmp: Path, fleet: SshdFleet | None) -> Outcome:
    """run_case, with a crash of the harness on one case reported as that case's failure."""
    try:
        return run_case(case, tmp, fleet)
    except Exception as exc:  # one broken case must not hide the others
        outcome = Outcome(case)
        outcome.fail("check", f"harness error: {exc!r}", traceback.format_exc())
        return outcome


def run_case(case: Case, tmp: Path, fleet: SshdFleet | None = None) -> Outcome:
    """Every phase the case's mode asks for, each in a fresh directory under ``tmp``."""
    outcome = Outcome(case)
    if ssh_hosts_needed(case) and fleet is None:
        outcome.skipped = sshd.unavailable_reason() or "no SSH test hosts"
        return outcome
    checked = corral(case, prepare(case, tmp / "check", fleet), "check")
    if checked.exit_code != 0:
        outcome.fail("check", "corral check: " + first_error(checked.output), checked.output)
        return outcome
    outcome.check = "ok"
    if not case.runs_check_mode:
        return outcome
    dry = corral(case, prepare(case, tmp / "dry", fleet), "run", "--check")
    has_recap = bool(dry.events) and dry.events[-1].get("event") == "recap"
    if dry.exit_code != case.check_exit or not has_recap:
        problem = f"corral run --check: exit {dry.exit_code}: " + first_error(dry.output)
        outcome.fail("check_mode", problem, timeline(dry))
        return outcome
    outcome.check_mode = "ok"
    if case.real:
        _compare(case, tmp, outcome, fleet)
    return outcome


def _compare(case: Case, tmp: Path, outcome: Outcome, fleet: SshdFleet | None) -> None:
    ours = corral(case, prepare(case, tmp / "corral", fleet), "run")
    theirs = ansible(case, prepare(case, tmp / "ansible", fleet))
    context = f"\n{timeline(ours)}\n{timeline(theirs)}"
    if not any(e.get("event") == "recap" for e in theirs.events):
        outcome.fail("real", "ansible-playbook did not run: " + first_error(theirs.output))
        outcome.details.append(theirs.output[-4000:])
        return
    if not ours.events or ours.events[-1].get("event") != "recap":
        outcome.fail("real", "corral run: " + first_error(ours.output), ours.output[-4000:])
        return
    mine, other = seen(ours), ansible_as_corral(seen(theirs))
    if statuses(ours) != statuses(theirs):
        outcome.fail("real", "task results differ from ansible-playbook", context)
    elif mine.recap != other.recap:
        outcome.fail("real", "recap differs from ansible-playbook", context)
    elif mine.exit_code != other.exit_code:
        problem = f"exit code {mine.exit_code}, ansible-playbook's {other.exit_code}"
        outcome.fail("real", problem, context)
    else:
        outcome.real = "ok"

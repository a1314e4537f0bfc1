"""Worker processes: each queued run runs as ``corral run --queued-run ID`` of its own.

A worker is a child process in a session of its own, in the project directory, so a run
that crashes (or is killed) never takes the server down, and SIGTERM to the server does
not reach the runs through the terminal. Its params and the trigger's payload are
handed over in files under ``$CORRAL_HOME/serve/spool/RUN_ID/`` (private, like the
store), and its console output is kept there as ``output.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.executors import QueuedRun
    from corral.store.db import Store

__all__ = [
    "Worker",
    "output_tail",
    "queued_run",
    "queued_run_args",
    "run_args",
    "signal_group",
    "spawn",
    "spool_dir",
]


@dataclass
class Worker:
    """A running worker: its process and where its output goes."""

    run_id: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float

    @property
    def where(self) -> str:
        return f"pid {self.process.pid}"

    def finished(self) -> int | None:
        """The exit code once the process has ended (its log closed then), else None."""
        code = self.process.poll()
        if code is not None and not self.log.closed:
            self.log.close()
        return code

    def wait(self, timeout: float) -> int | None:
        """The exit code once the process has ended, waiting up to ``timeout`` seconds."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        return self.finished()

    def terminate(self) -> None:
        """SIGTERM the run's process group: the run winds down as after Ctrl-C."""
        signal_group(self.process.pid, signal.SIGTERM)

    def kill(self) -> None:
        signal_group(self.process.pid, signal.SIGKILL)


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group a worker leads (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def spool_dir(home: Path, run_id: str) -> Path:
    """The private directory of a queued or running run's hand-over files."""
    path = home / "serve" / "spool" / run_id
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def run_args(
    run_id: str,
    playbook: str,
    *,
    home: Path,
    inventory: Sequence[str],
    params: Mapping[str, Any],
    trigger: Mapping[str, Any],
    wait_lock: float = 0.0,
    options: Sequence[str] = (),
) -> list[str]:
    """``corral`` arguments running queued run ``run_id``; params go in its spool's files.
    ``options``: more ``corral run`` options (``-l``, ``--check``)."""
    spool = spool_dir(home, run_id)
    params_file = _private_params(spool / "params.yml", params)
    trigger_file = _private_json(spool / "trigger.json", {"corral_trigger": trigger})
    argv = ["run", playbook, "--queued-run", run_id, "--wait-lock", f"{wait_lock:g}s"]
    for source in inventory:
        argv += ["-i", source]
    argv += ["-p", f"@{params_file}", "-e", f"@{trigger_file}", *options]
    return argv


@dataclass(frozen=True)
class _Asked:
    """What a queued run was asked with: its fire's params and trigger, the limit and
    check mode of its row, and the inventory it runs on."""

    params: Mapping[str, Any]
    trigger: Mapping[str, Any]
    limit: str | None
    check: bool
    inventory: Sequence[str]

    @property
    def options(self) -> list[str]:
        return (["-l", self.limit] if self.limit else []) + (["--check"] if self.check else [])


def _asked(
    store: Store,
    run_id: str,
    root: Path,
    environ: Mapping[str, str],
    inventory: Sequence[str] | None,
) -> _Asked:
    from corral_plugins.server.project import project_inventory
    from corral_plugins.server.queue import fire_params

    fired = store.conn.execute(
        "SELECT kind, trigger, time FROM fires WHERE run_id = ?", (run_id,)
    ).fetchone()
    kind, key, when = fired if fired else ("api", "api", time.time())
    row = store.conn.execute("SELECT options FROM runs WHERE id = ?", (run_id,)).fetchone()
    asked = json.loads(row[0]) if row and row[0] else {}
    return _Asked(
        params=fire_params(store, run_id),
        trigger={"kind": kind, "key": key, "fired": when, "run_id": run_id},
        limit=str(asked["limit"]) if asked.get("limit") else None,
        check=bool(asked.get("check")),
        inventory=project_inventory(root, environ) if inventory is None else inventory,
    )


def queued_run_args(
    store: Store,
    run_id: str,
    playbook: str,
    *,
    root: Path,
    home: Path,
    environ: Mapping[str, str],
    wait_lock: float,
    inventory: Sequence[str] | None = None,
) -> list[str]:
    """:func:`run_args` for a run :func:`~corral_plugins.server.queue.enqueue` queued:
    its params and trigger from its fire, its ``limit`` and ``check`` from its queued
    row, and unless ``inventory`` is given the project's, looked up now (an inventory
    added or moved needs no restart)."""
    asked = _asked(store, run_id, root, environ, inventory)
    return _args(run_id, playbook, home, asked, wait_lock)


def queued_run(
    store: Store,
    run_id: str,
    playbook: str,
    *,
    root: Path,
    home: Path,
    environ: Mapping[str, str],
    wait_lock: float,
) -> QueuedRun:
    """The same run as :func:`queued_run_args`, as an executor's run queue takes it: its
    arguments with the text of their hand-over files, and what it targets."""
    from corral.executors import QueuedRun

    asked = _asked(store, run_id, root, environ, None)
    args = _args(run_id, playbook, home, asked, wait_lock)
    files = {arg[1:]: Path(arg[1:]).read_text(encoding="utf-8") for arg in args if arg[:1] == "@"}
    row = store.run_row(run_id) or {}
    return QueuedRun(
        run_id=run_id,
        playbook=playbook,
        argv=tuple(args),
        files=files,
        project=str(root),
        inventory=tuple(asked.inventory),
        params=asked.params,
        limit=asked.limit,
        started_by=str(row.get("started_by") or ""),
        trigger=str(row.get("trigger") or ""),
        wait_lock=wait_lock,
        log=str(spool_dir(home, run_id) / "output.log"),
    )


def _args(run_id: str, playbook: str, home: Path, asked: _Asked, wait_lock: float) -> list[str]:
    return run_args(
        run_id,
        playbook,
        home=home,
        inventory=asked.inventory,
        params=asked.params,
        trigger=asked.trigger,
        wait_lock=wait_lock,
        options=asked.options,
    )


def spawn(
    run_id: str, args: Sequence[str], *, project: Path, home: Path, environ: Mapping[str, str]
) -> Worker:
    """Run ``corral ARGS`` for ``run_id`` in the project, its output in the run's spool."""
    log = (spool_dir(home, run_id) / "output.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "corral", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**environ, "CORRAL_HOME": str(home)},
        start_new_session=True,
    )
    return Worker(run_id=run_id, process=process, log=log, started=time.time())


def output_tail(home: Path, run_id: str, limit: int = 64 * 1024) -> str:
    """The end of a worker's console output ("" when the server did not run it)."""
    path = home / "serve" / "spool" / run_id / "output.log"
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - limit))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


class _Unsafe(str):
    """A string from outside (a webhook's payload, an API caller): never a template."""


def _unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, Mapping):
        return {str(k): _unsafe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_unsafe(v) for v in value]
    return value


def _private_params(path: Path, params: Mapping[str, Any]) -> Path:
    """The params as YAML whose every string is ``!unsafe``: a value such as ``{{ ... }}``
    in a webhook's payload or an API call is data, never rendered on the controller."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Unsafe, lambda d, s: d.represent_scalar("!unsafe", str(s)))
    text = yaml.dump(_unsafe(dict(params)), Dumper=Dumper, allow_unicode=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _private_json(path: Path, value: Any) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(value, handle, default=str)
    return path

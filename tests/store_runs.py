"""Helpers for the run store tests: real runs recorded in a store, and the store's commands.

``record_run`` runs a playbook in-process through the public engine API with the store
writer attached, exactly as ``corral run`` records a run (``start_recording``, then
``run_playbook`` with the writer, then ``close``). ``DRIVER`` is the same as a script,
for runs in a subprocess that a test kills.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DRIVER = """
import json, os, sys, time
from pathlib import Path
from corral.engine.options import RunOptions
from corral.engine.prepare import prepare_run
from corral.engine.run import run_playbook
from corral.engine.signals import StopControl, handle_signals
from corral.plugins import build_registry, make_plugin_manager
from corral.store.session import start_recording

class TimedFlush:
    # Wraps the store writer to measure how long each flush (a barrier) waits.
    def __init__(self, writer):
        self.writer, self.longest = writer, 0.0
    def __call__(self, event):
        self.writer(event)
    def flush(self):
        started = time.monotonic()
        self.writer.flush()
        self.longest = max(self.longest, time.monotonic() - started)

env = dict(os.environ)
registry = build_registry(make_plugin_manager(env))
options = RunOptions(forks=int(env.get("FORKS", "100")))
prepared = prepare_run(Path(sys.argv[1]), [sys.argv[2]], registry, options, env)
options, writer = start_recording(env, prepared, options, argv=["corral", "run", *sys.argv[1:]])
print(options.run_id, flush=True)
timed = TimedFlush(writer)
control = StopControl()
started = time.monotonic()
try:
    with handle_signals(control, options.grace_period):
        outcome = run_playbook(
            prepared.playbook, prepared.inventory, registry, options, [timed], control
        )
finally:
    writer.close()
figures = {"longest_flush": timed.longest, "run_seconds": time.monotonic() - started}
print(json.dumps(figures), flush=True)
sys.exit(outcome.exit_code)
"""


def environ(project: Any) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", **project.env}


def record_run(
    project: Any,
    playbook: str,
    inventory: str,
    *,
    extra_vars: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    forks: int = 100,
) -> tuple[int, str]:
    """Run ``playbook`` (files in the project) with the store on; returns (exit code, run id)."""
    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.engine.run import run_playbook
    from corral.plugins import build_registry, make_plugin_manager
    from corral.store.session import start_recording

    env = environ(project)
    registry = build_registry(make_plugin_manager(env))
    options = RunOptions(forks=forks, extra_vars=dict(extra_vars or {}))
    previous = Path.cwd()
    os.chdir(project.path)
    try:
        prepared = prepare_run(
            Path(playbook), [inventory], registry, options, env, params=dict(params or {})
        )
        options = prepared.options_for(options)
        options, writer = start_recording(env, prepared, options, argv=["corral", "run", playbook])
        assert writer is not None
        try:
            outcome = run_playbook(
                prepared.playbook, prepared.inventory, registry, options, [writer]
            )
        finally:
            writer.close()
    finally:
        os.chdir(previous)
    return outcome.exit_code, options.run_id


def driver_command(tmp: Path) -> list[str]:
    """The argv prefix of a subprocess that records a run: ``[python, driver.py]``."""
    script = tmp / "record_driver.py"
    if not script.exists():  # written once: runs started together must not see it half-written
        script.write_text(DRIVER)
    return [sys.executable, str(script)]


def store_file(project: Any) -> Path:
    return Path(project.env["CORRAL_HOME"]) / "corral.db"

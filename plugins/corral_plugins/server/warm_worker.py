"""A warm worker: one long-lived process running the server's runs one after another.

Started by the server (:mod:`corral_plugins.server.warm`) as
``python -m corral_plugins.server.warm_worker`` in the project directory. It reads jobs
from its standard input, one JSON line each (``{"run_id": ..., "args": [...], "log":
PATH}``), runs ``corral ARGS`` in this process, its console output appended to ``log``,
and answers on its standard output with one JSON line (``{"run_id": ..., "exit": CODE}``).
It ends when its input ends (the server stopped or died).

What stays between runs is what makes it warm: imported modules, and the SSH links of
:mod:`corral_plugins.ssh.pool` (enabled by ``CORRAL_SSH_POOL_IDLE``, set by the server).
What must not stay is put back after each run: the environment, the working directory,
the standard streams; signal handlers are restored by the run itself. A run that ends
the process (``os._exit`` after an abort, a crash) takes only this worker with it: the
server marks the run interrupted and starts another worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from typing import IO, Any

__all__ = ["main"]


def main() -> int:
    # The job and answer pipes are kept apart from fds 0 and 1, so that nothing a run
    # reads or prints (a prompt, a stray print) can touch them.
    jobs = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    environ = dict(os.environ)
    cwd = os.getcwd()
    for line in jobs:
        if not line.strip():
            continue
        job = json.loads(line)
        code = run_job(job, environ, cwd, devnull)
        answers.write(json.dumps({"run_id": job["run_id"], "exit": code}) + "\n")
        answers.flush()
    return 0


def run_job(job: Mapping[str, Any], environ: Mapping[str, str], cwd: str, devnull: int) -> int:
    """Run one job's ``corral ARGS`` here, its output in its log; put the process back after."""
    from corral.cli import main as corral_main

    log = os.open(str(job["log"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    _flush(sys.stdout, sys.stderr)
    stderr = os.dup(2)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        return corral_main([str(a) for a in job["args"]], environ=dict(environ))
    except SystemExit as exc:  # a plugin calling sys.exit: the run's exit code all the same
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        _flush(sys.stdout, sys.stderr)
        os.dup2(devnull, 1)
        os.dup2(stderr, 2)
        os.close(stderr)
        # What a run may have changed for itself must not reach the next one.
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)


def _flush(*streams: IO[str]) -> None:
    for stream in streams:
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


if __name__ == "__main__":
    sys.exit(main())

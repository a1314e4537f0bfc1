"""Subprocess plumbing for the local connection: process groups, timeouts, killing.

Every command starts in a process group of its own, so a timeout stops the command
and everything it started; a killed group gets a moment to close its pipes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping

from corral.posix import RawOutput

# After a timeout, how long the killed process group gets to close its pipes.
_DRAIN_SECONDS = 2.0


def start_process(
    argv: list[str], env: Mapping[str, str], cwd: str | None, *, piped_stdin: bool
) -> subprocess.Popen[bytes] | RawOutput:
    """Start ``argv`` in a new session, or say why it could not start (as a shell would)."""
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if piped_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        if cwd is not None and exc.filename == cwd:
            message = f"cannot change directory to {cwd}: {exc.strerror}"
            return RawOutput(rc=1, stdout=b"", stderr=message.encode())
        rc = 127 if isinstance(exc, FileNotFoundError) else 126
        return RawOutput(rc=rc, stdout=b"", stderr=f"{argv[0]}: {exc.strerror}".encode())


def finish_process(
    proc: subprocess.Popen[bytes], data: bytes | None, deadline: float | None, *, grace: float
) -> RawOutput:
    """Feed ``data``, collect the output, and kill the process group at the deadline."""
    try:
        stdout, stderr = proc.communicate(data, timeout=_remaining(deadline))
    except subprocess.TimeoutExpired:
        stop_group(proc, grace)
        stdout, stderr = _drain(proc)
        return RawOutput(rc=killed_rc(proc), stdout=stdout, stderr=stderr, timed_out=True)
    except BaseException:
        stop_group(proc, grace)
        raise
    return RawOutput(rc=proc.returncode, stdout=stdout, stderr=stderr)


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Kill the process group ``proc`` leads; SIGTERM first when ``grace`` is given."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if grace > 0:
            os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Output left after a kill; a grandchild that escaped the group may hold the pipes open."""
    try:
        return proc.communicate(timeout=_DRAIN_SECONDS)
    except subprocess.TimeoutExpired as exc:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()
        return _as_bytes(exc.output), _as_bytes(exc.stderr)


def _as_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value


def killed_rc(proc: subprocess.Popen[bytes]) -> int:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_DRAIN_SECONDS)
    return proc.returncode if proc.returncode is not None else -signal.SIGKILL

"""Background jobs on a host, for ``async``/``poll`` and ``async_status``: POSIX shell only.

A job is one command started detached on the host (``setsid`` when the host has it,
all descriptors redirected), so it outlives the connection and the controller, as
Ansible's async jobs do. It leaves its state in a status directory on the host,
``~/.ansible_async`` unless ``ansible_async_dir`` says otherwise, under its job id:

- ``<jid>``: Ansible's first status line, ``{"started": 1, "finished": 0, ...}``;
- ``<jid>.cmd``, ``.in``, ``.out``, ``.err``: the command as shown, its stdin and output;
- ``<jid>.start``, ``.end`` (epoch seconds), ``.pid`` and, last, ``.rc``: it finished;
- ``<jid>.timeout`` (holding the limit): a watchdog killed it after ``async`` seconds.

Nothing needs Python on the host. The engine starts jobs (see
:mod:`corral.engine.asyncjob`); the ``async_status`` step reads them with
:func:`job_status` and removes them with :func:`cleanup_job`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corral.connection import Become, Connection
from corral.errors import StepFailed

__all__ = [
    "ASYNC_DIR",
    "KILLED_AT_LIMIT",
    "NOT_FOUND",
    "Job",
    "JobStatus",
    "cleanup_job",
    "job_file",
    "job_status",
    "kill_job",
    "new_job_id",
    "start_job",
    "timeout_message",
]

ASYNC_DIR = "~/.ansible_async"
NOT_FOUND = "could not find job"
KILLED_AT_LIMIT = "Timeout exceeded"  # Ansible's words for a job its watchdog killed
CALL_TIMEOUT = 30.0  # seconds for each command that starts, reads or removes a job

# Runs the job: the command in a session of its own, a watchdog that kills that
# session after $2 seconds (leaving <jid>.timeout), then the exit status, written last.
_WRAPPER = r"""f=$1; limit=$2; cmd=$3
if command -v setsid >/dev/null 2>&1; then
  setsid /bin/sh -c "$cmd" <"$f.in" >"$f.out" 2>"$f.err" &
else
  /bin/sh -c "$cmd" <"$f.in" >"$f.out" 2>"$f.err" &
fi
child=$!
echo "$child" >"$f.pid"
(
  i=0
  while [ "$i" -lt "$limit" ]; do
    sleep 1
    kill -0 "$child" 2>/dev/null || exit 0
    i=$((i + 1))
  done
  echo "$limit" >"$f.timeout"
  kill -s KILL -- "-$child" 2>/dev/null || kill -s KILL "$child" 2>/dev/null
) &
wait "$child"
rc=$?
date +%s >"$f.end"
echo "$rc" >"$f.rc.tmp" && mv "$f.rc.tmp" "$f.rc"
"""

# Makes the status directory and files, then starts the wrapper detached; prints the
# job's status file. "$6" is 1 when the job's stdin comes on this command's stdin.
_LAUNCH = r"""d=$1; jid=$2; limit=$3; cmd=$4; shown=$5
case $d in "~" | "~/"*) d=$HOME${d#"~"} ;; esac
umask 077
mkdir -p "$d" || exit 1
f=$d/$jid
printf '{"started": 1, "finished": 0, "ansible_job_id": "%s"}\n' "$jid" >"$f" || exit 1
printf '%s' "$shown" >"$f.cmd"
if [ "$6" = 1 ]; then cat >"$f.in"; else : >"$f.in"; fi
date +%s >"$f.start"
if command -v setsid >/dev/null 2>&1; then s=setsid; else s=; fi
$s /bin/sh -c "$7" corral-async "$f" "$limit" "$cmd" </dev/null >/dev/null 2>&1 &
printf '%s\n' "$f"
"""

# Prints "missing", "running", or "done RC START END [TIMEOUT]"; the status file (``~``
# expanded); then the command, its stdout and its stderr, each followed by a line
# holding the nonce "$2".
_STATUS = r"""f=$1; n=$2
case $f in "~/"*) f=$HOME${f#"~"} ;; esac
if [ ! -e "$f" ]; then printf 'missing\n%s\n' "$f"; exit 0; fi
if [ -e "$f.rc" ]; then
  printf 'done %s %s %s %s\n' "$(cat "$f.rc")" "$(cat "$f.start" 2>/dev/null || echo -)" \
    "$(cat "$f.end" 2>/dev/null || echo -)" "$(cat "$f.timeout" 2>/dev/null)"
else
  echo running
fi
printf '%s\n' "$f"
cat "$f.cmd" 2>/dev/null; printf '\n%s\n' "$n"
if [ -e "$f.rc" ]; then
  cat "$f.out" 2>/dev/null; printf '\n%s\n' "$n"
  cat "$f.err" 2>/dev/null; printf '\n%s\n' "$n"
fi
"""

_KILL = r"""f=$1
case $f in "~/"*) f=$HOME${f#"~"} ;; esac
if [ -e "$f.pid" ] && [ ! -e "$f.rc" ]; then
  p=$(cat "$f.pid")
  echo "$2" >"$f.timeout"
  kill -s KILL -- "-$p" 2>/dev/null || kill -s KILL "$p" 2>/dev/null
fi
exit 0
"""


_CLEANUP = r"""f=$1
case $f in "~/"*) f=$HOME${f#"~"} ;; esac
if [ -e "$f" ]; then rm -f -- "$f" "$f".*; else exit 3; fi
printf '%s\n' "$f"
"""


@dataclass(frozen=True)
class Job:
    """A started job: its id and its status file on the host (Ansible's ``results_file``)."""

    jid: str
    results_file: str

    def started(self) -> dict[str, Any]:
        """What a task with ``poll: 0`` registers: Ansible's keys for a started job."""
        return {
            "ansible_job_id": self.jid,
            "results_file": self.results_file,
            "started": True,
            "finished": False,
        }


@dataclass(frozen=True)
class JobStatus:
    """What the host says about a job."""

    state: str  # "missing", "running" or "done"
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    cmd: str = ""
    start: float | None = None
    end: float | None = None
    limit: int | None = None  # set when the watchdog killed it at its time limit
    path: str = ""  # the status file, ``~`` expanded on the host

    def result(self, job: Job) -> dict[str, Any]:
        """Ansible's ``async_status`` result for the job, a command's result once it is done."""
        base: dict[str, Any] = {
            "ansible_job_id": job.jid,
            "results_file": self.path or job.results_file,
        }
        if self.state == "missing":
            return {
                **base,
                "failed": True,
                "started": True,
                "finished": True,
                "msg": "could not find job",
            }
        if self.state == "running":
            return {**base, "changed": False, "started": 1, "finished": 0}
        stdout, stderr = self.stdout.rstrip("\r\n"), self.stderr.rstrip("\r\n")
        out: dict[str, Any] = {
            **base,
            "started": True,
            "finished": True,
            "changed": True,
            "cmd": self.cmd,
            "rc": self.rc,
            "stdout": stdout,
            "stdout_lines": stdout.splitlines(),
            "stderr": stderr,
            "stderr_lines": stderr.splitlines(),
            "failed": self.rc != 0,
            "msg": "non-zero return code" if self.rc != 0 else "",
        }
        if self.start is not None and self.end is not None:
            start, end = datetime.fromtimestamp(self.start), datetime.fromtimestamp(self.end)
            out.update(start=str(start), end=str(end), delta=str(end - start))
        if self.limit is not None:
            out.update(failed=True, changed=False, msg=KILLED_AT_LIMIT)
        return out


def timeout_message(limit: float) -> str:
    """Ansible's message when the controller stops waiting for a job at its ``async`` limit."""
    return f"async task did not complete within the requested time - {limit:g}s"


def new_job_id() -> str:
    """A job id in Ansible's shape: ``j`` and 12 digits, a dot, the controller's pid."""
    import secrets  # here, not at the top: most runs start no job

    return f"j{secrets.randbelow(10**12):012d}.{os.getpid()}"


def job_file(jid: str, async_dir: str = ASYNC_DIR) -> str:
    """The status file of job ``jid`` (``~`` is expanded on the host)."""
    if not jid or "/" in jid or jid in (".", ".."):
        raise StepFailed(f"invalid job id {jid!r}")
    return f"{async_dir.rstrip('/') or '/'}/{jid}"


def start_job(
    conn: Connection,
    command: Sequence[str] | str,
    *,
    limit: int,
    async_dir: str = ASYNC_DIR,
    shown: str | None = None,
    stdin: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    become: Become | None = None,
) -> Job:
    """Start ``command`` detached on the host, killed after ``limit`` seconds."""
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    line = " ".join(shlex.quote(part) for part in argv)
    if env:
        line = "env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + line
    if cwd:
        line = f"cd {shlex.quote(cwd)} && exec {line}"
    if shown is None:
        shown = command if isinstance(command, str) else line
    jid = new_job_id()
    launch = [
        "/bin/sh",
        "-c",
        _LAUNCH,
        "corral-launch",
        async_dir,
        jid,
        str(max(1, int(limit))),
        line,
        shown,
        "1" if stdin is not None else "0",
        _WRAPPER,
    ]
    done = conn.run(launch, stdin=stdin, timeout=CALL_TIMEOUT, become=become)
    path = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.rc != 0 or not path:
        reason = done.stderr.strip() or f"exit status {done.rc}"
        raise StepFailed(f"could not start the async job in {async_dir}: {reason}")
    return Job(jid, path)


def job_status(conn: Connection, job: Job, *, become: Become | None = None) -> JobStatus:
    """Read the job's state (and its output once it is done) from the host."""
    import secrets

    nonce = secrets.token_hex(16)
    done = conn.run(
        ["/bin/sh", "-c", _STATUS, "corral-status", job.results_file, nonce],
        timeout=CALL_TIMEOUT,
        become=become,
    )
    if done.rc != 0:
        raise StepFailed(f"could not read async job {job.jid}: {done.stderr.strip()}")
    head, _, rest = done.stdout.partition("\n")
    path, _, rest = rest.partition("\n")
    words = head.split()
    if not words or words[0] not in ("missing", "running", "done"):
        raise StepFailed(f"unexpected status of async job {job.jid}: {head[:200]!r}")
    parts = rest.split(f"\n{nonce}\n")
    cmd = parts[0] if parts else ""
    if words[0] != "done":
        return JobStatus(words[0], cmd=cmd, path=path)
    return JobStatus(
        "done",
        path=path,
        rc=_number(words, 1, int),
        cmd=cmd,
        stdout=parts[1] if len(parts) > 1 else "",
        stderr=parts[2] if len(parts) > 2 else "",
        start=_number(words, 2, float),
        end=_number(words, 3, float),
        limit=_number(words, 4, int),
    )


def _number(words: list[str], index: int, kind: type[Any]) -> Any:
    try:
        return kind(words[index])
    except (IndexError, ValueError):
        return None


def kill_job(conn: Connection, job: Job, limit: float, *, become: Become | None = None) -> None:
    """Kill a job still running (its whole session), marking it as over its time limit."""
    conn.run(
        ["/bin/sh", "-c", _KILL, "corral-kill", job.results_file, f"{limit:g}"],
        timeout=CALL_TIMEOUT,
        become=become,
    )


def cleanup_job(conn: Connection, job: Job, *, become: Become | None = None) -> str | None:
    """Remove the job's files; their status file (``~`` expanded), or None without the job."""
    done = conn.run(
        [
            "/bin/sh",
            "-c",
            _CLEANUP,
            "corral-cleanup",
            job.results_file,
        ],
        timeout=CALL_TIMEOUT,
        become=become,
    )
    return done.stdout.strip() or job.results_file if done.rc == 0 else None

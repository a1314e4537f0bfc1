"""Helpers shared by the benchmarks: timing child processes and their peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Measurement:
    label: str
    seconds: float
    peak_mb: float
    returncode: int
    # The process's own CPU and context switches (its waited-for children's included).
    user: float = 0.0
    system: float = 0.0
    voluntary: int = 0
    involuntary: int = 0

    @property
    def system_share(self) -> float:
        return self.system / self.seconds


def measure(
    label: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
) -> Measurement:
    """Run ``argv`` once; wall time and the peak RSS of it and its waited-for children."""
    merged = {**os.environ, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=merged, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise TimeoutError(f"{label} took more than {timeout}s")
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        print(f"warning: {label} exited {proc.returncode}: {err[-500:]}", file=sys.stderr)
    return Measurement(
        label,
        seconds,
        usage.ru_maxrss / 1024,
        proc.returncode,
        usage.ru_utime,
        usage.ru_stime,
        usage.ru_nvcsw,
        usage.ru_nivcsw,
    )


def best_of(n: int, label: str, argv: Sequence[str], **kwargs: object) -> Measurement:
    runs = [measure(label, argv, **kwargs) for _ in range(n)]  # type: ignore[arg-type]
    return min(runs, key=lambda m: m.seconds)


def table(rows: Sequence[Measurement], baseline: str | None = None) -> str:
    base = next((r for r in rows if r.label == baseline), None)
    lines = ["| tool | wall time (s) | peak RSS (MB) | vs corral |", "| --- | ---: | ---: | ---: |"]
    for row in rows:
        ratio = f"{row.seconds / base.seconds:.1f}x" if base and base.seconds else "-"
        lines.append(f"| {row.label} | {row.seconds:.3f} | {row.peak_mb:.0f} | {ratio} |")
    return "\n".join(lines)


# The simulated fleet workload (bench_ssh.py --simulated, bench_scaleout.py): three tasks
# on N ``simulated`` hosts whose every call waits 50 ms.
SIM_PLAYBOOK = """\
- hosts: sim
  gather_facts: false
  tasks:
    - command: uname -a
    - copy: {content: "hello\\n", dest: /tmp/app.conf}
    - shell: echo hello > /tmp/shell.txt
"""


def sim_inventory(hosts: int) -> str:
    """An INI inventory of ``hosts`` simulated hosts with 50 ms round trips."""
    return (
        f"[sim]\nnode[00000:{hosts - 1:05d}]\n\n[sim:vars]\n"
        "ansible_connection=simulated\ncorral_simulated_rtt=0.05\n"
    )

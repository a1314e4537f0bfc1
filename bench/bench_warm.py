"""Warm fleet: the SSH workload run through ``corral serve`` twice, against the cold floor.

    .venv/bin/python bench/bench_warm.py [--hosts 100] [--repeat 3]

Needs root (the sshd hosts of tests/sshd.py). The workload is bench_ssh.py's: on every
host, create a directory, upload a 1 KiB file, run ``uname -a``, write a file with a
shell command. In one run, taking turns:

- the floor: bench_ssh.py's raw paramiko thread pool, cold (a new process, a new SSH
  connection per host, key exchange and authentication included);
- ``corral run`` from a shell, cold, for reference;
- the same playbook started through a running ``corral serve`` (``POST /api/v1/runs``):
  the first run after the server starts is cold, the later ones find the warm worker's
  pooled connections. Timed from the request to the run's end as the API reports it.

Each run writes under a fresh remote directory, and bench_ssh's check confirms every
host did the whole work. Prints Markdown for bench/RESULTS.md (medians and ranges).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import VENV_BIN
from bench_serve import start_server, stop_server
from bench_ssh import REMOTE_ROOT, Bench, check_work
from sshd import retire_test_user, start_fleet, unavailable_reason


def serve(bench: Bench) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start ``corral serve`` on the bench's work directory; (process, url, token)."""
    token = subprocess.run(
        [str(VENV_BIN / "corral"), "token", "create", "--scope", "run", "--name", "bench"],
        cwd=bench.work,
        env={**os.environ, **bench.env()},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    process, url = start_server(
        bench.work, bench.env(), "--max-runs", "1", log=bench.work / "serve.log"
    )
    return process, url, token


def served_run(bench: Bench, hosts: list, url: str, token: str) -> float:
    """One run through the server, in a fresh remote directory; seconds to its end."""
    base = bench.fresh_base()
    bench.write_inventories(hosts, base)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as api:
        started = time.perf_counter()
        run_id = api.post("/api/v1/runs", json={"playbook": "site.yml"}).json()["run_id"]
        while True:
            run = api.get(f"/api/v1/runs/{run_id}").json()["run"]
            if run["status"] not in ("queued", "running"):
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        if run["status"] != "succeeded":
            logs = api.get(f"/api/v1/runs/{run_id}/logs").text
            raise RuntimeError(f"run {run_id} {run['status']}: {logs[-3000:]}")
    check_work(base, hosts, "corral serve")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"cannot start sshd hosts: {reason}")
    shutil.rmtree(REMOTE_ROOT, ignore_errors=True)
    REMOTE_ROOT.mkdir(mode=0o755)
    fleet = start_fleet(args.hosts)
    floors, colds, first, warm = [], [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="corral-bench-warm-") as tmp:
            bench = Bench(fleet, Path(tmp))
            hosts = fleet.hosts[: args.hosts]
            for _ in range(args.repeat):
                floors.append(bench.measure("floor", hosts).seconds)
                colds.append(bench.measure("corral", hosts).seconds)
                process, url, token = serve(bench)
                try:
                    first.append(served_run(bench, hosts, url, token))
                    warm.extend(served_run(bench, hosts, url, token) for _ in range(2))
                finally:
                    stop_server(process)
    finally:
        fleet.stop()
        retire_test_user()
        shutil.rmtree(REMOTE_ROOT, ignore_errors=True)

    def shown(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"

    floor = statistics.median(floors)
    print(f"Warm fleet: {args.hosts} sshd hosts, 4 operations each, {args.repeat} turns.\n")
    print("| run | wall time, median (min-max) | x cold floor |")
    print("| --- | ---: | ---: |")
    for label, values in (
        ("raw paramiko floor, cold", floors),
        ("`corral run`, cold", colds),
        ("`corral serve`, first run (cold worker)", first),
        ("`corral serve`, later runs (warm)", warm),
    ):
        print(f"| {label} | {shown(values)} | {statistics.median(values) / floor:.2f}x |")


if __name__ == "__main__":
    main()

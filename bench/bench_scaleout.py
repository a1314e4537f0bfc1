"""One controller that holds up, and the executors side by side (issue 20).

    .venv/bin/python bench/bench_scaleout.py [--hosts 10000] [--consecutive 10]
        [--repeat 3] [--workers 4] [--ssh 100] [--skip celery,...]

1. ``--consecutive`` runs in a row of the 10,000-host simulated workload (50 ms round
   trips, 3 tasks: command, copy, shell; ``--forks 1000``, json output, the run store on,
   as bench_ssh.py's ``--simulated``) with the local
   executor: wall time, user and system CPU, system CPU as a share of wall time, context
   switches and peak RSS of each run. Then ``--repeat`` runs with ``CORRAL_HUB=off`` (a
   thread per unit, as before the hub), for comparison.
2. The same workload with each executor, ``--repeat`` runs each, taking turns:
   ``local``; ``processes`` with ``--workers`` processes; ``celery`` with ``--workers``
   worker processes of this machine (one ``corral worker --pool prefork`` with that
   concurrency) on a redis-server the benchmark starts, once as ``--forks`` says (which
   bounds each shard: up to ``workers`` times as many units in flight) and once with
   the same number in flight as the others (``celery-even``: ``--forks`` divided among
   the workers). The coordinator's CPU (user +
   system of the ``corral run`` process) per host-task is printed for each.
3. ``--ssh N``: the SSH benchmark's workload (bench/bench_ssh.py) on N real loopback sshd
   hosts, the local executor against celery with 2 worker processes, one run each per
   turn. Needs root (sshd hosts).

Prints Markdown for bench/RESULTS.md. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from _common import SIM_PLAYBOOK, VENV_BIN, Measurement, measure, sim_inventory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()  # the bench's own broker key


def measured(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Measurement:
    """Run ``argv`` once (see _common.measure); stop the benchmark if it fails.

    Each run records itself in a run store of its own (a fresh ``CORRAL_HOME``), as
    ``corral run`` does by default, unless ``env`` names one.
    """
    home = tempfile.mkdtemp(prefix="home-", dir=cwd)
    found = measure(argv[0], argv, cwd=cwd, env={"CORRAL_HOME": home, **env})
    if found.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {found.returncode}")
    return found


def spread(values: Sequence[float]) -> str:
    """Median (min-max)."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def simulated_project(work: Path, hosts: int) -> Path:
    project = work / "sim"
    project.mkdir()
    (project / "hosts.ini").write_text(sim_inventory(hosts))
    (project / "site.yml").write_text(SIM_PLAYBOOK)
    return project


def sim_argv(forks: int) -> list[str]:
    return [str(VENV_BIN / "corral"), "run", "site.yml", "-i", "hosts.ini",
            "--forks", str(forks), "--output", "json"]  # fmt: skip


def consecutive(project: Path, runs: int, repeat: int, forks: int) -> None:
    print(f"### {runs} consecutive runs, local executor\n")
    print("| run | wall s | user s | sys s | sys / wall | voluntary cs | involuntary cs | RSS MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    samples = []
    for n in range(1, runs + 1):
        s = measured(sim_argv(forks), project, {})
        samples.append(s)
        row = (n, f"{s.seconds:.2f}", f"{s.user:.2f}", f"{s.system:.2f}", f"{s.system_share:.0%}",
               s.voluntary, s.involuntary, f"{s.peak_mb:.0f}")  # fmt: skip
        print("| " + " | ".join(str(v) for v in row) + " |", flush=True)
    walls = spread([s.seconds for s in samples])
    under = all(s.seconds < 10 for s in samples)
    share = max(s.system_share for s in samples)
    print(
        f"\nwall median (min-max): {walls} s; all under 10 s: {under}; sys/wall max {share:.0%}\n"
    )
    off = [measured(sim_argv(forks), project, {"CORRAL_HUB": "off"}) for _ in range(repeat)]
    switches = max(s.voluntary + s.involuntary for s in off)
    off_walls = spread([s.seconds for s in off])
    print(
        f"`CORRAL_HUB=off` (a thread per unit), {repeat} runs: wall {off_walls}"
        f" s, sys {spread([s.system for s in off])} s, sys/wall max "
        f"{max(s.system_share for s in off):.0%}, context switches up to {switches}\n",
        flush=True,
    )


@contextmanager
def celery_workers(work: Path, processes: int, env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """A redis-server and one ``corral worker`` with ``processes`` slots; the run's env."""
    from redis_server import RedisServer

    server = RedisServer()
    server.start()
    settings = {"CORRAL_BROKER_URL": server.url, "CORRAL_BROKER_KEY": KEY}
    log = (work / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            str(VENV_BIN / "corral"),
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(processes),
            "--loglevel",
            "warning",
        ],
        cwd=work,
        env={**os.environ, **env, **settings},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            ping = subprocess.run(
                [str(VENV_BIN / "corral"), "workers", "--timeout", "1"],
                env={**os.environ, **settings}, capture_output=True, check=False,
            )  # fmt: skip
            if ping.returncode == 0:
                break
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(
                    f"corral worker did not start: {(work / 'worker.log').read_text()}"
                )
            time.sleep(0.5)
        yield settings
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        server.stop()
        server.remove()


def executors(
    project: Path, hosts: int, repeat: int, workers: int, forks: int, skip: set[str]
) -> None:
    host_tasks = hosts * 3  # the playbook's three tasks
    print(f"### Executors, {repeat} runs each, taking turns ({workers} worker processes)\n")
    runs: dict[str, list[Measurement]] = {}
    # celery-even: as many units in flight as the others (--forks bounds each shard:
    # forks / workers each), in the celery row's shards (two a worker process a round:
    # one shard a round leaves the coordinator idle, then busy applying them all; shards
    # of forks / workers hosts cost more messages than they save, 12.4 s against 10-11).
    share = max(1, forks // workers)
    size = max(1, hosts // (workers * 2))
    even = f"celery-even (--forks {share}, shards of {size})"
    kinds = [k for k in ("local", "processes", "celery", even) if k.split()[0] not in skip]
    remote = any(k.startswith("celery") for k in kinds)
    with celery_workers(project, workers, {}) if remote else _nothing() as settings:
        for _ in range(repeat):
            for kind in kinds:
                env = {"CORRAL_EXECUTOR": kind.split("-")[0].split()[0]}
                argv = sim_argv(forks)
                if kind == "processes":
                    env["CORRAL_PROCESSES"] = str(workers)
                if kind.startswith("celery"):
                    env.update(settings or {})
                    env["CORRAL_SHARD_SIZE"] = str(size)
                if kind == even:
                    argv = sim_argv(share)
                runs.setdefault(kind, []).append(measured(argv, project, env))
    print("| executor | wall s, median (min-max) | coordinator CPU s | per host-task |")
    print("| --- | ---: | ---: | ---: |")
    for kind, samples in runs.items():
        cpu = [s.user + s.system for s in samples]
        per = statistics.median(cpu) / host_tasks * 1e6
        print(f"| {kind} | {spread([s.seconds for s in samples])} | {spread(cpu)} | {per:.0f} µs |")
    print(flush=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def ssh(n: int, repeat: int, skip: set[str]) -> None:
    from bench_ssh import Bench
    from sshd import retire_test_user, start_fleet, unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(f"(SSH part skipped: {reason})\n")
        return
    remote = Path("/tmp/corral-bench-remote")
    shutil.rmtree(remote, ignore_errors=True)
    remote.mkdir(mode=0o755)
    fleet = start_fleet(n)
    try:
        with tempfile.TemporaryDirectory(prefix="corral-bench-scaleout-ssh-") as tmp:
            bench = Bench(fleet, Path(tmp))
            hosts = fleet.hosts[:n]
            rows: dict[str, list[float]] = {}
            kinds = [k for k in ("local", "celery") if k not in skip]
            with (
                celery_workers(Path(tmp), 2, bench.env()) if "celery" in kinds else _nothing()
            ) as settings:
                for _ in range(repeat):
                    for kind in kinds:
                        base = bench.fresh_base()
                        bench.write_inventories(hosts, base)
                        env = {**bench.env(), "CORRAL_EXECUTOR": kind}
                        if kind == "celery":
                            env.update(settings or {})
                            env["CORRAL_SHARD_SIZE"] = str(max(1, n // 2))
                        argv = bench.command("corral", n)
                        rows.setdefault(kind, []).append(measured(argv, Path(tmp), env).seconds)
            print(f"### SSH workload, {n} loopback sshd hosts, {repeat} runs each, taking turns\n")
            print("| executor | wall s, median (min-max) |\n| --- | ---: |")
            for kind, walls in rows.items():
                print(f"| {kind} | {spread(walls)} |")
            print(flush=True)
    finally:
        fleet.stop()
        retire_test_user()
        shutil.rmtree(remote, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--forks", type=int, default=1000)
    parser.add_argument("--consecutive", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--ssh", type=int, default=100, help="sshd hosts (0: skip)")
    parser.add_argument("--skip", default="", help="comma-separated: consecutive,processes,celery")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    print(f"## Scale-out, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start\n")
    with tempfile.TemporaryDirectory(prefix="corral-bench-scaleout-") as tmp:
        project = simulated_project(Path(tmp), args.hosts)
        if "consecutive" not in skip:
            consecutive(project, args.consecutive, args.repeat, args.forks)
        executors(project, args.hosts, args.repeat, args.workers, args.forks, skip)
    if args.ssh:
        ssh(args.ssh, args.repeat, skip)


if __name__ == "__main__":
    main()

"""The run store: its cost to a run, and how fast history and stats answer on a big store.

    .venv/bin/python bench/bench_store.py [--hosts 1000] [--repeat 5] [--runs 1000]
        [--hosts-per-run 100] [--tasks 10] [--skip-engine] [--skip-queries]

1. Engine overhead with the store on and off, in one run: the workload of
   bench_engine.py (N local hosts x 10 tasks of debug/set_fact/assert, no process
   spawned), ``corral run`` with ``CORRAL_STORE=off`` against the store on, runs
   interleaved so that both see the same machine load; best of ``--repeat``.
2. A store of runs x hosts x tasks unit rows (1,000,000 by default), written through
   the real StoreWriter from synthetic events (so its throughput is measured too);
   then ``history`` and ``stats`` timed in-process (the query) and as whole
   ``corral`` commands (process start-up included).

Prints Markdown for the "Run store" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import VENV_BIN, measure
from bench_engine import TASKS, write_inventory

# Used when `corral run` does not record to the store yet: the same calls it makes.
RECORDING_RUN = """
import os, sys
from pathlib import Path
from corral.engine.options import RunOptions
from corral.engine.prepare import prepare_run
from corral.engine.run import run_playbook
from corral_plugins.output.jsonlines import JsonLinesWriter
from corral.plugins import build_registry, make_plugin_manager
from corral.store.session import start_recording

env = dict(os.environ)
registry = build_registry(make_plugin_manager(env))
options = RunOptions()
prepared = prepare_run(Path(sys.argv[1]), [sys.argv[2]], registry, options, env)
options, writer = start_recording(env, prepared, options, argv=sys.argv)
writers = [JsonLinesWriter()] + ([writer] if writer is not None else [])
try:
    outcome = run_playbook(prepared.playbook, prepared.inventory, registry, options, writers)
finally:
    if writer is not None:
        writer.close()
sys.exit(outcome.exit_code)
"""
# Used when the store's commands are not registered in the CLI yet.
STORE_CLI = """
import sys
from corral import hookimpl
from corral.cli import main

class StoreCommands:
    @hookimpl
    def corral_register_commands(self, cli):
        from corral_plugins.history.runs import history_command, stats_command
        for command in (history_command, stats_command):
            if command.name not in cli.commands:
                cli.add_command(command)

sys.exit(main(sys.argv[1:], extra_plugins=[("store-commands", StoreCommands())]))
"""


def run_records(work: Path, env: dict[str, str]) -> bool:
    """Whether ``corral run`` records runs in the store in this checkout."""
    home = work / "probe-home"
    (work / "probe.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks: [{debug: {msg: hi}}]\n"
    )
    subprocess.run(
        [str(VENV_BIN / "corral"), "run", "probe.yml"],
        cwd=work,
        env={**os.environ, **env, "CORRAL_HOME": str(home)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    return (home / "corral.db").exists()


def timed_run(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600
) -> tuple[float, float]:
    """Run ``argv`` once; (wall seconds, CPU seconds of the process and its children).

    CPU time is what the store adds (its writer is a thread of the run's process) and,
    unlike wall time, hardly moves when other work shares the machine.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise TimeoutError(f"{argv} took more than {timeout}s")
        time.sleep(0.002)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{argv} failed: {err[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime


def engine_overhead(work: Path, hosts: int, repeat: int) -> str:
    write_inventory(work / "hosts.ini", hosts)
    (work / "site.yml").write_text(TASKS)
    env = {"NO_COLOR": "1", "CORRAL_HOME": str(work / "home")}
    if run_records(work, env):
        argv = [str(VENV_BIN / "corral"), "run", "site.yml", "-i", "hosts.ini", "--output", "json"]
        how = "`corral run --output json`"
    else:
        (work / "recording_run.py").write_text(RECORDING_RUN)
        argv = [sys.executable, "recording_run.py", "site.yml", "hosts.ini"]
        how = (
            "the calls `corral run` makes (start_recording, run_playbook, JSON output), as a script"
        )
    runs: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for _ in range(repeat):  # interleaved, so both see the same machine load
        runs["off"].append(timed_run(argv, cwd=work, env={**env, "CORRAL_STORE": "off"}))
        runs["on"].append(timed_run(argv, cwd=work, env=env))
    figures = {
        key: (
            min(w for w, _ in values),
            statistics.median(w for w, _ in values),
            min(c for _, c in values),
            statistics.median(c for _, c in values),
        )
        for key, values in runs.items()
    }
    off, on = figures["off"], figures["on"]
    lines = [
        f"### Engine overhead: {hosts} hosts x 10 tasks, store on and off in one run",
        "",
        f"Measured with {how}; {repeat} runs each, interleaved.",
        "",
        "| store | best wall (s) | median wall (s) | best CPU (s) | median CPU (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| off (`CORRAL_STORE=off`) | {off[0]:.3f} | {off[1]:.3f} | {off[2]:.3f} | {off[3]:.3f} |",
        f"| on | {on[0]:.3f} | {on[1]:.3f} | {on[2]:.3f} | {on[3]:.3f} |",
        f"| **store overhead** | **{_pct(on[0], off[0])}** | {_pct(on[1], off[1])} "
        f"| **{_pct(on[2], off[2])}** | {_pct(on[3], off[3])} |",
        "",
        f"Budget: +15%. Each store-on run commits {hosts * 10:,} units and their events, "
        "with a flush at the end of every task round.",
    ]
    seconds, count = writer_cpu(work, repeat)
    lines += [
        "",
        f"Writer thread CPU for this run's {count:,} events, replayed in-process (steadier "
        f"than whole runs on a shared machine): {seconds:.3f} s ({seconds / count * 1e6:.1f} us "
        f"an event), {seconds / off[2] * 100:.1f}% of the store-off run's best CPU time.",
    ]
    return "\n".join(lines)


def writer_cpu(work: Path, repeat: int) -> tuple[float, int]:
    """CPU seconds the store writer spends on the bench run's own events, and their number.

    Wall and CPU time of whole runs move with whatever else the machine does; this
    figure hardly does: the run's events (captured with the store off) are fed to a
    StoreWriter with a flush per task round, as the engine does, and the process's CPU
    time is taken (the feeding thread only enqueues, then waits).
    """
    import json

    from corral.store import Store, StoreWriter

    env = {**os.environ, "NO_COLOR": "1", "CORRAL_STORE": "off"}
    argv = [str(VENV_BIN / "corral"), "run", "site.yml", "-i", "hosts.ini", "--output", "json"]
    done = subprocess.run(
        argv, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=True
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    best = float("inf")
    for attempt in range(repeat):
        store = Store(work / f"replay{attempt}" / "corral.db", retention=None)
        writer = StoreWriter(store, "replay")
        cpu = time.process_time()
        for event in events:
            writer(event)
            if event.get("event") == "task_start":
                writer.flush()
        writer.flush()
        best = min(best, time.process_time() - cpu)
        writer.close()
        store.close()
    return best, len(events)


def _pct(value: float, base: float) -> str:
    return f"{(value / base - 1) * 100:+.1f}%"


def fill_store(path: Path, runs: int, hosts: int, tasks: int) -> tuple[float, int]:
    """Write ``runs`` synthetic runs through the StoreWriter; returns (seconds, units)."""
    from corral.store import Store, StoreWriter
    from corral.store.records import RunRecord, snapshot_hash

    store = Store(path, retention=None)
    now = time.time()
    host_names = [f"node{h:04d}" for h in range(hosts)]
    started_all = time.perf_counter()
    for r in range(runs):
        playbook = ("deploy.yml", "backup.yml", "patch.yml")[r % 3]
        snapshot = {playbook: f"# {playbook}\n- hosts: all\n"}
        start = now - (runs - r) * 3600.0  # one run an hour, the newest an hour ago
        run_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(start)) + f"-{r:06x}"
        store.begin_run(
            RunRecord(
                run_id=run_id,
                playbook=playbook,
                playbook_hash=snapshot_hash(snapshot),
                snapshot=snapshot,
                inventory={"all": {"children": ["ungrouped"]}},
                params={},
                extra_vars={},
                options={"forks": 100},
                started_by="ops@bench",
                trigger="cron",
                argv=("corral", "run", playbook),
                pid=0,
                started=start,
                playbook_file=playbook,
            )
        )
        writer = StoreWriter(store, run_id)
        writer({"event": "run_start", "time": start, "playbook": playbook, "pid": 0})
        writer(
            {
                "event": "play_start",
                "time": start,
                "play": "all",
                "uid": "play0",
                "hosts": host_names,
            }
        )
        failing = host_names[r % hosts] if r % 10 == 0 else None
        clock = start
        for t in range(tasks):
            uid = f"play0/tasks/{t}"
            writer(
                {
                    "event": "task_start",
                    "time": clock,
                    "play": "all",
                    "task": f"task {t}",
                    "uid": uid,
                    "hosts": hosts,
                }
            )
            for h, host in enumerate(host_names):
                duration = 0.05 + 0.01 * ((h * 7 + t * 13 + r) % 50) + (2.0 if t == 3 else 0.0)
                status = (
                    "failed"
                    if host == failing and t == tasks - 1
                    else ("changed" if t % 2 else "ok")
                )
                writer(
                    {
                        "event": "task_result",
                        "time": clock + duration,
                        "host": host,
                        "task": f"task {t}",
                        "action": "shell",
                        "uid": uid,
                        "unit_id": f"{uid}@0.{t}#{host}",
                        "handler": False,
                        "status": status,
                        "started": clock,
                        "ended": clock + duration,
                        "attempts": 1,
                        "result": {
                            "changed": status == "changed",
                            "failed": status == "failed",
                            "rc": 0,
                            "stdout": f"done {t}",
                        },
                    }
                )
            writer.flush()
            clock += 2.6
        exit_code = 2 if failing else 0
        hosts_recap = {
            h: {"ok": tasks, "changed": tasks // 2, "failed": int(h == failing)} for h in host_names
        }
        writer(
            {
                "event": "recap",
                "time": clock,
                "hosts": hosts_recap,
                "exit_code": exit_code,
                "duration": clock - start,
            }
        )
        writer.close()
    seconds = time.perf_counter() - started_all
    units = store.conn.execute("SELECT count(*) FROM units").fetchone()[0]
    store.close()
    return seconds, units


def time_queries(path: Path, repeat: int) -> list[tuple[str, float, float]]:
    """(what, first call ms, best ms) for each query, in-process, on a fresh connection."""
    from corral.store import Store
    from corral.store.queries import history, stats

    cases = {
        "history (latest 20)": lambda s: history(s, limit=20),
        "history --host node0042": lambda s: history(s, host="node0042"),
        "history --playbook deploy.yml --status failed": lambda s: history(
            s, playbook="deploy.yml", status="failed"
        ),
        "history --since 7d": lambda s: history(s, since=time.time() - 7 * 86400),
        "stats": stats,
        "stats --since 30d": lambda s: stats(s, since=time.time() - 30 * 86400),
    }
    rows = []
    for label, query in cases.items():
        timings = []
        for _ in range(repeat):
            store = Store(path, retention=None)
            started = time.perf_counter()
            query(store)
            timings.append((time.perf_counter() - started) * 1000)
            store.close()
        rows.append((label, timings[0], min(timings)))
    return rows


def time_commands(work: Path, home: Path, repeat: int) -> list[tuple[str, float]]:
    """Best wall time (ms) of whole ``corral`` commands, process start-up included."""
    corral = str(VENV_BIN / "corral")
    env = {"CORRAL_HOME": str(home), "NO_COLOR": "1"}
    registered = (
        subprocess.run(
            [corral, "history", "--help"], capture_output=True, timeout=60, check=False
        ).returncode
        == 0
    )
    if registered:
        prefix = [corral]
    else:
        (work / "store_cli.py").write_text(STORE_CLI)
        prefix = [sys.executable, str(work / "store_cli.py")]
    cases = {
        "corral --version (start-up floor)": [corral, "--version"],
        "corral history": [*prefix, "history"],
        "corral stats": [*prefix, "stats"],
    }
    return [
        (label, min(measure(label, argv, cwd=work, env=env).seconds for _ in range(repeat)) * 1000)
        for label, argv in cases.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--hosts-per-run", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--skip-queries", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_engine:
            print(engine_overhead(work, args.hosts, args.repeat))
            print()
        if not args.skip_queries:
            home = work / "big"
            seconds, units = fill_store(
                home / "corral.db", args.runs, args.hosts_per_run, args.tasks
            )
            size = sum(p.stat().st_size for p in home.glob("corral.db*")) / 1e6
            print(f"### history and stats on a store of {units:,} unit rows ({args.runs:,} runs)")
            print()
            print(
                f"Filled through StoreWriter in {seconds:.1f} s "
                f"({units / seconds:,.0f} units/s with their events); "
                f"file {size:.0f} MB."
            )
            print()
            print("| query (in-process, fresh connection) | first (ms) | best (ms) |")
            print("| --- | ---: | ---: |")
            for label, first, best in time_queries(home / "corral.db", args.repeat):
                print(f"| {label} | {first:.1f} | {best:.1f} |")
            print()
            print("| whole command (process start-up included) | best wall time (ms) |")
            print("| --- | ---: |")
            for label, ms in time_commands(work, home, args.repeat):
                print(f"| {label} | {ms:.0f} |")


if __name__ == "__main__":
    main()

"""``corral serve`` under load: webhook ingest, and a thousand armed cron schedules.

    .venv/bin/python bench/bench_serve.py [--deliveries 3000] [--concurrency 8]
        [--rounds 3] [--schedules 1000] [--skip-webhooks] [--skip-cron]

1. Webhook ingest. A real server on loopback serves a playbook with a generic-signed
   webhook; a client in this process (on the same 2 cores) sends
   ``--deliveries`` signed deliveries, each with its own delivery id, ``--concurrency``
   at a time. Each is verified (HMAC), its params mapped and checked against the
   playbook's, deduped and queued (a ``fires`` row and a ``queued`` run, one
   transaction) before its 202. Reported per round: accepted per second, latency p50
   and p99, and whether every accepted delivery has its run row. Twice: with the queue
   held (``--hold-queue``: ingest alone), and with ``--max-runs 1`` (a worker runs queued
   runs meanwhile, on the same cores). The requests are signed before the clock starts,
   and sent by a plain asyncio client, so the client takes little of the two cores.
2. Cron. ``--schedules`` cron entries over 10 playbooks, armed by one server: 30 of them
   due in the next three minutes, the rest later in the day. Reported: the server's own
   CPU over a quiet minute before the first is due (utime+stime from /proc, so workers
   are not counted), and how late each due entry fired (the fire's stored time against
   its scheduled time).

Prints Markdown for the "Server" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sshd import free_port

SECRET = "bench-secret"
HOOK = """
- hosts: all
  gather_facts: false
  params:
    ref: {type: string}
  triggers:
    - webhook:
        path: /hooks/deploy
        secret_env: BENCH_HOOK_SECRET
        rate_limit: 100000/s
        params: {ref: "{{ payload.ref }}"}
  tasks:
    - debug: {msg: "{{ ref }}"}
"""


def start_server(
    project: Path, env: Mapping[str, str], *args: str, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """``corral serve ARGS`` on ``project`` (``env`` over this process's), once it answers;
    its output goes to ``log``. Stop it with :func:`stop_server`."""
    port = free_port("127.0.0.1")
    with log.open("ab") as output:  # the child keeps its own descriptor
        server = subprocess.Popen(
            [sys.executable, "-m", "corral", "serve", "--bind", f"127.0.0.1:{port}", *args],
            cwd=project,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"corral serve did not start; see {log}")


def hook_env(home: Path) -> dict[str, str]:
    """The environment of a server serving :data:`HOOK`."""
    return {"CORRAL_HOME": str(home), "BENCH_HOOK_SECRET": SECRET}


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def signed(body: bytes, delivery: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Corral-Signature": f"sha256={mac}",
        "X-Corral-Timestamp": stamp,
        "X-Corral-Delivery": delivery,
        "Content-Type": "application/json",
    }


def requests_for(host: str, count: int, tag: str) -> list[bytes]:
    """``count`` signed HTTP/1.1 deliveries, each with its own delivery id, as raw bytes."""
    built = []
    for i in range(count):
        body = json.dumps({"ref": f"refs/heads/b{i}"}).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in signed(body, f"{tag}-{i}").items())
        built.append(
            f"POST /hooks/deploy HTTP/1.1\r\nHost: {host}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return built


async def deliver_all(url: str, count: int, concurrency: int, tag: str) -> list[tuple[int, float]]:
    """Send ``count`` deliveries over ``concurrency`` keep-alive connections; (status,
    seconds) of each. A plain asyncio client: httpx would use more of the two cores than
    the server it measures."""
    host, port = url.removeprefix("http://").split(":")
    pending = requests_for(f"{host}:{port}", count, tag)
    pending.reverse()
    results: list[tuple[int, float]] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while pending:
                request = pending.pop()
                started = time.perf_counter()
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                results.append((status, time.perf_counter() - started))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return results


def run_rows(home: Path) -> int:
    from corral.store import Store

    store = Store(home / "corral.db")
    try:
        return int(store.conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        store.close()


def bench_webhooks(deliveries: int, concurrency: int, rounds: int, *, hold: bool) -> list[str]:
    mode = (
        "queue held (--hold-queue: ingest alone)"
        if hold
        else "one worker running queued runs meanwhile (--max-runs 1)"
    )
    lines = [
        f"Webhook ingest, {mode}: {deliveries} signed deliveries a round, {concurrency} at "
        "a time, client and server on the same 2 cores.",
        "",
        "| round | accepted/s | p50 | p99 | 202s | run rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rates, p99s = [], []
    for round_no in range(1, rounds + 1):
        with tempfile.TemporaryDirectory(prefix="corral-bench-serve-") as tmp:
            project, home = Path(tmp) / "project", Path(tmp) / "home"
            project.mkdir()
            (project / "deploy.yml").write_text(HOOK)
            (project / "inventory.ini").write_text("localhost ansible_connection=local\n")
            server, url = start_server(
                project,
                hook_env(home),
                "--max-runs",
                "1",
                *(["--hold-queue"] if hold else []),
                log=Path(tmp) / "serve.log",
            )
            try:
                asyncio.run(deliver_all(url, 50, 4, "warmup"))  # first requests import code
                before = run_rows(home)
                started = time.perf_counter()
                results = asyncio.run(deliver_all(url, deliveries, concurrency, f"r{round_no}"))
                seconds = time.perf_counter() - started
            finally:
                stop_server(server)
            accepted = [s for code, s in results if code == 202]
            rows = run_rows(home) - before
            latencies = sorted(s for _, s in results)
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            rate = len(accepted) / seconds
            rates.append(rate)
            p99s.append(p99)
            lines.append(
                f"| {round_no} | {rate:.0f} | {p50 * 1000:.1f} ms | {p99 * 1000:.1f} ms "
                f"| {len(accepted)}/{deliveries} | {rows} |"
            )
    lines += [
        "",
        f"Median of {rounds} rounds: **{statistics.median(rates):.0f} accepted/s** "
        f"({min(rates):.0f}-{max(rates):.0f}), p99 {statistics.median(p99s) * 1000:.1f} ms "
        f"({min(p99s) * 1000:.1f}-{max(p99s) * 1000:.1f}).",
    ]
    return lines


def cron_project(project: Path, schedules: int, now: datetime) -> list[str]:
    """10 playbooks sharing ``schedules`` cron entries; returns the due schedules' times."""
    due: list[str] = []
    per_book = schedules // 10
    for book in range(10):
        entries = []
        for i in range(per_book):
            n = book * per_book + i
            if i < 3:  # each playbook: one due in each of the window's three minutes
                when = now + timedelta(minutes=2 + i)
                due.append(when.strftime("%H:%M"))
            else:  # later today, away from the bench's window
                when = now + timedelta(minutes=10 + n % 600)
            entries.append(f'    - cron: {{schedule: "{when.minute} {when.hour} * * *"}}')
        text = (
            "- hosts: all\n  gather_facts: false\n  triggers:\n"
            + "\n".join(entries)
            + "\n  tasks:\n    - debug: {msg: tick}\n"
        )
        (project / f"book{book}.yml").write_text(text)
    return due


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_cron(schedules: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="corral-bench-cron-") as tmp:
        project, home = Path(tmp) / "project", Path(tmp) / "home"
        project.mkdir()
        (project / "inventory.ini").write_text("localhost ansible_connection=local\n")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        due = cron_project(project, schedules, now)
        server, _url = start_server(
            project, hook_env(home), "--max-runs", "2", log=Path(tmp) / "serve.log"
        )
        try:
            first_due = (now + timedelta(minutes=2)).timestamp()
            time.sleep(max(0.0, first_due - 62 - time.time()))  # to the quiet minute
            time.sleep(1)
            cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
            time.sleep(max(1.0, first_due - 1 - time.time()))
            idle = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - wall0)
            time.sleep(max(0.0, first_due + 3 * 60 + 5 - time.time()))
        finally:
            stop_server(server)
        from corral.store import Store

        store = Store(home / "corral.db")
        fires = store.conn.execute(
            "SELECT time, delivery FROM fires WHERE kind = 'cron'"
        ).fetchall()
        store.close()
    lateness = sorted(
        when - datetime.fromisoformat(scheduled).timestamp() for when, scheduled in fires
    )
    return [
        f"Cron: {schedules} schedules armed (10 playbooks), {len(due)} due in the window.",
        "",
        "- server CPU over the quiet minute before the first fire: "
        f"**{idle * 100:.2f}%** of one core",
        f"- fires recorded: {len(fires)} of {len(due)} due; late by median "
        f"{statistics.median(lateness):.3f} s, max **{max(lateness):.3f} s**"
        if lateness
        else "- no fire recorded",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--skip-webhooks", action="store_true")
    parser.add_argument("--skip-cron", action="store_true")
    args = parser.parse_args()
    lines: list[str] = []
    if not args.skip_webhooks:
        for hold in (True, False):
            lines += bench_webhooks(args.deliveries, args.concurrency, args.rounds, hold=hold)
            lines.append("")
    if not args.skip_cron:
        lines += bench_cron(args.schedules)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

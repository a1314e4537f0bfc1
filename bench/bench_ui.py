"""The web UI's runs page on a big store: server time of each page, median and p95.

    .venv/bin/python bench/bench_ui.py [--runs 10000] [--hosts-per-run 10] [--requests 50]
        [--live-hosts 1000] [--skip-runs-page] [--skip-live]

A store of ``--runs`` finished runs (20 playbooks, mixed statuses and triggers, spread
over 30 days), each with ``--hosts-per-run`` host roll-ups, written straight into
SQLite; a real ``corral serve`` on it; a client logged in to the UI asks ``--requests``
times for each page below (the runs page unfiltered, with each filter, and deep in its
paging). The server time is the page's ``Server-Timing`` header (from the request's
routing to its answer: the store's reads and the template); the wall time adds HTTP
over loopback. Prints Markdown for the "Web UI" section of bench/RESULTS.md, and the
SQLite query plan of each filter's query.

Then the live view of a ``--live-hosts`` run of the simulated connection (5 tasks, 50 ms
round trips, 50 forks): a client logged in to the UI follows the run's event stream
(``/runs/RUN/events``, as the page's script does) and, as the script does, asks for the
run's view at most every 0.7 s while events come. Reported: the events the stream
delivered against those the store holds at the end (none dropped: equal), and the server
time of the views.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_serve import start_server, stop_server

PLAYBOOKS = [f"deploy/app{n:02d}.yml" for n in range(20)]
STATUSES = ["succeeded"] * 8 + ["failed", "cancelled"]
TRIGGERS = ["", "api", "nightly", "push"]
PAGES = (  # (label, address) of each page timed
    ("runs, newest first", "/"),
    ("status=failed", "/?status=failed"),
    ("playbook=app07.yml", "/?playbook=app07.yml"),
    ("host=web0042", "/?host=web0042"),
    ("trigger=nightly", "/?trigger=nightly"),
    ("since..until (a week)", "/?since={since}&until={until}"),
    ("page 100", "/?page=100"),
)


def fill(home: Path, runs: int, hosts_per_run: int) -> None:
    """``runs`` finished runs with their host roll-ups, in one transaction."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
    from corral.store import Store

    store = Store(home / "corral.db")
    rng = random.Random(7)
    now = time.time()
    run_rows, host_rows = [], []
    for n in range(runs):
        started = now - 30 * 86400 * n / runs
        playbook, status = rng.choice(PLAYBOOKS), rng.choice(STATUSES)
        run_id = f"bench{n:07d}"
        failed = 1 if status == "failed" else 0
        run_rows.append(
            (
                run_id,
                playbook,
                status,
                failed,
                started,
                started + 30,
                hosts_per_run,
                failed,
                rng.choice(TRIGGERS),
                "token:bench",
            )
        )
        for h in rng.sample(range(500), hosts_per_run):
            host_rows.append((run_id, f"web{h:04d}", playbook, status, started))
    try:
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO runs (id, playbook, status, exit_code, started, ended, duration,"
                " host_count, failed_hosts, trigger, started_by)"
                " VALUES (?, ?, ?, ?, ?, ?, 30, ?, ?, ?, ?)",
                run_rows,
            )
            conn.executemany(
                "INSERT INTO run_hosts (run_id, host, ok, playbook, status, started)"
                " VALUES (?, ?, 3, ?, ?, ?)",
                host_rows,
            )
        conn = store.conn
        conn.execute("ANALYZE")
    finally:
        store.close()


def plans(home: Path) -> list[str]:
    """The query plan of ``history`` for each filter, as SQLite gives it."""
    from corral.store import Store, queries

    store = Store(home / "corral.db")
    captured: list[tuple[str, list[object]]] = []
    real = store.db.query

    def spy(sql: str, params: list[object]) -> object:
        captured.append((sql, list(params)))
        return real(sql, params)

    store.db.query = spy  # type: ignore[method-assign]
    try:
        for kwargs in (
            {},
            {"status": "failed"},
            {"playbook": "app07.yml"},
            {"host": "web0042"},
            {"trigger": "nightly"},
            {"since": time.time() - 7 * 86400, "until": time.time()},
        ):
            queries.history(store, limit=51, offset=0, **kwargs)  # type: ignore[arg-type]
        lines = []
        for sql, params in captured:
            where = sql.split("FROM runs", 1)[1].split("ORDER BY")[0].strip() or "(no filter)"
            detail = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            lines.append(f"- `{' '.join(where.split())}`: {'; '.join(detail)}")
        return lines
    finally:
        store.close()


def bench(url: str, token: str, requests: int) -> list[tuple[str, list[float], list[float]]]:
    """Per page: its server times and wall times (ms) over ``requests`` requests."""
    week = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - 14 * 86400))
    until = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - 7 * 86400))
    found = []
    with httpx.Client(base_url=url, timeout=30, headers={"Origin": url}) as client:
        answer = client.post("/login", data={"token": token, "next": "/"})
        assert answer.status_code == 303, answer.text
        for label, template in PAGES:
            path = template.format(since=week, until=until)
            client.get(path)  # warm-up: the first answer of a page compiles its template
            server, wall = [], []
            for _ in range(requests):
                started = time.perf_counter()
                page = client.get(path)
                wall.append((time.perf_counter() - started) * 1000)
                assert page.status_code == 200, (path, page.status_code)
                timing = re.search(r"dur=([\d.]+)", page.headers["server-timing"])
                assert timing, page.headers
                server.append(float(timing.group(1)))
            found.append((label, server, wall))
    return found


LIVE_PLAYBOOK = """
- hosts: sim
  gather_facts: false
  tasks:
    - command: uname -a
    - copy: {content: "hello\\n", dest: /tmp/app.conf}
    - command: echo step three
    - shell: echo hello > /tmp/shell.txt
    - command: echo done
"""


def live(tmp: Path, hosts: int) -> str:
    """Follow a ``hosts``-host run live through the UI; a Markdown paragraph of figures."""
    from corral.store import Store
    from corral_plugins.server.tokens import create_token

    home, project = tmp / "live-home", tmp / "live-project"
    home.mkdir()
    project.mkdir()
    (project / "hosts.ini").write_text(
        f"[sim]\nnode[0000:{hosts - 1:04d}]\n\n[sim:vars]\n"
        "ansible_connection=simulated\ncorral_simulated_rtt=0.05\n"
    )
    (project / "ansible.cfg").write_text("[defaults]\ninventory = hosts.ini\nforks = 50\n")
    (project / "fleet.yml").write_text(LIVE_PLAYBOOK)
    store = Store(home / "corral.db")
    token = create_token(store, "run", "bench")[1]
    store.close()
    server, url = start_server(project, {"CORRAL_HOME": str(home)}, log=tmp / "live.log")
    try:
        api = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"})
        ui = httpx.Client(base_url=url, timeout=60, headers={"Origin": url})
        assert ui.post("/login", data={"token": token}).status_code == 303
        run_id = api.post("/api/v1/runs", json={"playbook": "fleet.yml"}).json()["run_id"]
        received, views, last_view, started = 0, [], 0.0, time.perf_counter()
        with ui.stream("GET", f"/runs/{run_id}/events", timeout=600) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: end"):
                    break
                if not line.startswith("data: "):
                    continue
                received += 1
                if time.perf_counter() - last_view >= 0.7:
                    last_view = time.perf_counter()
                    view = ui.get(f"/runs/{run_id}/view")
                    timing = re.search(r"dur=([\d.]+)", view.headers["server-timing"])
                    views.append(float(timing.group(1)) if timing else 0.0)
        seconds = time.perf_counter() - started
        logged = api.get(f"/api/v1/runs/{run_id}/logs").text.splitlines()
        stored = sum('"event": "worker_output"' not in line for line in logged)
        status = api.get(f"/api/v1/runs/{run_id}").json()["run"]["status"]
        api.close()
        ui.close()
    finally:
        stop_server(server)
    return (
        f"Live view, {hosts} simulated hosts x 5 tasks ({status} in {seconds:.1f}s): the "
        f"stream delivered **{received} of {stored}** stored events; {len(views)} views "
        f"rendered meanwhile, server time median {statistics.median(views or [0]):.1f} ms, "
        f"p95 {p95(views or [0]):.1f} ms, max {max(views or [0]):.1f} ms."
    )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--hosts-per-run", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--live-hosts", type=int, default=1000)
    parser.add_argument("--skip-runs-page", action="store_true")
    parser.add_argument("--skip-live", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corral-bench-ui-") as tmp:
        if not args.skip_runs_page:
            runs_page(Path(tmp), args)
        if not args.skip_live:
            print("\n" + live(Path(tmp), args.live_hosts))
        print(f"\n(cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f})")


def runs_page(tmp: Path, args: argparse.Namespace) -> None:
    """The runs page's section: server and wall times per page, and the query plans."""
    home, project = tmp / "home", tmp / "project"
    home.mkdir()
    project.mkdir()
    (project / "inventory.ini").write_text("localhost ansible_connection=local\n")
    (project / "site.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    started = time.perf_counter()
    fill(home, args.runs, args.hosts_per_run)
    print(
        f"store: {args.runs} runs x {args.hosts_per_run} hosts written in "
        f"{time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    from corral.store import Store
    from corral_plugins.server.tokens import create_token

    store = Store(home / "corral.db")
    token = create_token(store, "read", "bench")[1]
    store.close()
    env = {"CORRAL_HOME": str(home)}
    server, url = start_server(project, env, log=tmp / "serve.log")
    try:
        results = bench(url, token, args.requests)
    finally:
        stop_server(server)
    print(
        f"Runs page, {args.runs:,} runs in the store ({args.hosts_per_run} hosts each), "
        f"{args.requests} requests per page, one at a time, 50 runs a page:\n"
    )
    print("| page | server p50 | server p95 | wall p50 | wall p95 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, server_ms, wall_ms in results:
        print(
            f"| {label} | {statistics.median(server_ms):.1f} ms | {p95(server_ms):.1f} ms "
            f"| {statistics.median(wall_ms):.1f} ms | {p95(wall_ms):.1f} ms |"
        )
    print("\nQuery plans (`EXPLAIN QUERY PLAN` of the runs query per filter):\n")
    print("\n".join(plans(home)))


if __name__ == "__main__":
    main()

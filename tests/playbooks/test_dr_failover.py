"""playbooks/dr-failover.yml and dr-failback.yml on real Debian hosts over SSH.

Three hosts of the ``services`` image: ``pg1`` is a PostgreSQL 15 primary, ``pg2`` its
streaming replica (both set up here, with pg_basebackup), ``pg3`` runs HAProxy in front
of them, through which the clients connect. Each test starts from a fresh pair. The
approval is answered with ``corral approve`` from another process, as an on-call engineer
would; the recovery time is measured from that answer to the first client query the new
primary serves through HAProxy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from debian_hosts import DebianFleet, DebianHost, FleetFactory
from pg_hosts import (
    CLUSTER,
    PLAYBOOKS,
    REPLICATOR,
    VERSION,
    client_query,
    haproxy,
    primary_and_replica,
    psql,
)
from sshd import free_port

from corral.testing import CorralProject

pytestmark = pytest.mark.slow

ROWS = 500
WHO = "select inet_server_addr(), pg_is_in_recovery(), count(*) from orders"


@dataclass
class Pair:
    fleet: DebianFleet
    primary: DebianHost
    replica: DebianHost
    lb: DebianHost
    port: int
    lb_port: int

    def through_lb(self, sql: str = WHO) -> str:
        return client_query(self.fleet, self.lb, self.lb.address, self.lb_port, sql)


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(3, image="services", prefix="pg")


def build_pair(fleet: DebianFleet) -> Pair:
    pg1, pg2, lb = fleet.hosts
    for host in fleet.hosts:
        fleet.exec(host, ["sh", "-c", f"pg_dropcluster --stop {VERSION} {CLUSTER}; "
                                      "kill $(cat /run/haproxy.pid)"])  # fmt: skip
    port = free_port(pg1.address)
    pair = Pair(fleet, pg1, pg2, lb, port, free_port(lb.address))
    primary_and_replica(fleet, pg1, pg2, port)
    schema = (
        "create table orders (id serial primary key, amount numeric);"
        f"insert into orders (amount) select i from generate_series(1, {ROWS}) i;"
        "alter table orders owner to app"
    )
    psql(fleet, pg1, port, schema, db="shop")
    servers = {h.name: f"{h.address}:{port}" for h in (pg1, pg2)}
    haproxy(fleet, lb, pair.lb_port, servers, active="pg1")
    return pair


@pytest.fixture(scope="module")
def built(fleet: DebianFleet) -> list[Pair]:
    return [build_pair(fleet)]


@pytest.fixture
def pair(built: list[Pair]) -> Pair:
    """pg1 the primary behind HAProxy, pg2 its streaming replica: the module's pair, whose
    replica is started again if a test stopped it, or a new pair if a test left another state."""
    pair = built[0]
    fleet = pair.fleet
    if not online(pair, pair.replica):
        fleet.exec(pair.replica, ["pg_ctlcluster", VERSION, CLUSTER, "start"])
    primary_serves = pair.through_lb().startswith(f"{pair.primary.address}|f|")
    if not (primary_serves and streaming(pair, pair.replica)):
        pair = built[0] = build_pair(fleet)
    return pair


def streaming(pair: Pair, host: DebianHost, timeout: float = 20) -> bool:
    """Whether ``host`` streams WAL from a primary (waiting for its receiver to connect)."""
    argv = [
        "psql",
        "--port",
        str(pair.port),
        "-At",
        "-c",
        "select status from pg_stat_wal_receiver",
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pair.fleet.exec(host, argv, user="postgres").stdout.strip() == "streaming":
            return True
        time.sleep(0.2)
    return False


def start_run(
    project: CorralProject, playbook: str, pair: Pair, *params: str
) -> subprocess.Popen[str]:
    inv = pair.fleet.inventory
    corral = str(Path(sys.executable).with_name("corral"))
    argv = [corral, "run", str(PLAYBOOKS / playbook), "-i", str(inv), "--output", "json",
            "-p", f"pg_port={pair.port}", "-p", f"lb_host={pair.lb.name}", *params]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=project.path, env=project._environ(None), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def approve(
    project: CorralProject, proc: subprocess.Popen[str], before: Callable[[], None] = lambda: None
) -> float:
    """Read the run's events up to its approval, call ``before``, approve; when it was given."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line)["event"] == "approval":
            break
    else:
        raise AssertionError(
            f"the run ended without asking: {proc.stderr.read() if proc.stderr else ''}"
        )
    before()
    answer = project.run("approve", "last", "--comment", "primary is gone")
    assert answer.exit_code == 0, answer.output
    return time.monotonic()


def finish(proc: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]]]:
    out, _ = proc.communicate(timeout=240)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return proc.returncode, events


def approve_and_finish(
    project: CorralProject, proc: subprocess.Popen[str], before: Callable[[], None] = lambda: None
) -> tuple[int, list[dict[str, Any]]]:
    """Answer the run's one approval and wait for its end: its exit code and events."""
    try:
        approve(project, proc, before)
        return finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def wait_for_clients(pair: Pair, expected: str, started: float, limit: float = 60) -> float:
    """Seconds from ``started`` until a client through HAProxy gets ``expected``."""
    while time.monotonic() - started < limit:
        if pair.through_lb() == expected:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(
        f"clients did not reach {expected!r} within {limit} s: {pair.through_lb()!r}"
    )


def online(pair: Pair, host: DebianHost) -> bool:
    return " online " in pair.fleet.check(host, ["pg_lsclusters", "--no-header"])


def test_failover_promotes_the_replica_fences_the_primary_and_moves_the_clients(
    pair: Pair, corral_project: CorralProject
) -> None:
    rows = rows_now(pair)
    psql(pair.fleet, pair.primary, pair.port, "insert into orders (amount) values (42)", db="shop")
    proc = start_run(corral_project, "dr-failover.yml", pair,
                     "-p", "old_primary=pg1", "-p", "new_primary=pg2")  # fmt: skip
    try:
        approved = approve(corral_project, proc)
        seconds = wait_for_clients(pair, f"{pair.replica.address}|f|{rows + 1}", approved)
        code, events = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, events
    print(f"failover: clients served by the new primary {seconds:.2f} s after the approval")
    assert seconds < 60
    # The data written before answers on the promoted node, which takes writes.
    psql(pair.fleet, pair.replica, pair.port, "insert into orders (amount) values (7)", db="shop")
    assert pair.through_lb("select count(*) from orders") == str(rows + 2)
    # The old primary is down and cannot be started by mistake.
    assert not online(pair, pair.primary)
    start = pair.fleet.exec(pair.primary, ["pg_ctlcluster", VERSION, CLUSTER, "start"])
    assert start.rc != 0
    assert "disabled" in start.stderr
    said = [e["result"]["msg"] for e in events if e["event"] == "task_result"
            and e["task"] == "Say how long it took"]  # fmt: skip
    assert said[0].startswith("pg2 is the primary and serves the clients")
    failed_rebuild(pair, corral_project)
    failback(pair, corral_project, rows + 2)


def failed_rebuild(pair: Pair, project: CorralProject) -> None:
    """A failback whose copy fails (a wrong password) puts the old data directory back."""
    fleet, data = pair.fleet, f"/var/lib/postgresql/{VERSION}/{CLUSTER}"
    marker = fleet.check(pair.primary, ["cat", f"{data}/postmaster.opts"])
    params = ["old_primary=pg1", "current_primary=pg2", "replication_password=wrong"]
    proc = start_run(project, "dr-failback.yml", pair, *(f"-p{p}" for p in params))
    code, events = approve_and_finish(project, proc)
    assert code == 2
    undone = [e["status"] for e in events if e["event"] == "task_result"
              and e["task"] == "Put the old data directory back"]  # fmt: skip
    assert undone == ["changed"]
    assert fleet.check(pair.primary, ["cat", f"{data}/postmaster.opts"]) == marker
    assert fleet.exec(pair.primary, ["test", "-e", f"{data}.pre-failback"]).rc != 0
    # Still fenced: the clients stay on pg2.
    assert not online(pair, pair.primary)
    assert pair.through_lb().startswith(f"{pair.replica.address}|f|")


def rows_now(pair: Pair) -> int:
    return int(psql(pair.fleet, pair.primary, pair.port, "select count(*) from orders", db="shop"))


def failback(pair: Pair, project: CorralProject, rows: int, *extra: str) -> None:
    """dr-failback.yml after the failover: pg1 rebuilt, primary again; pg2 its replica."""
    params = ["old_primary=pg1", "current_primary=pg2", f"replication_password={REPLICATOR[1]}"]
    proc = start_run(project, "dr-failback.yml", pair, *(f"-p{p}" for p in params), *extra)
    try:
        approve(project, proc)  # the rebuild
        approved = approve(project, proc)  # the switch back
        seconds = wait_for_clients(pair, f"{pair.primary.address}|f|{rows}", approved)
        code, events = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, [e for e in events if e.get("status") == "failed"]
    print(f"failback: clients served by the old primary again {seconds:.2f} s after the approval")
    fleet = pair.fleet
    assert streaming(pair, pair.replica)
    psql(fleet, pair.primary, pair.port, "insert into orders (amount) values (9)", db="shop")
    count = "select count(*) from orders"
    deadline = time.monotonic() + 30
    while psql(fleet, pair.replica, pair.port, count, db="shop") != str(rows + 1):
        assert time.monotonic() < deadline, "the write on pg1 did not reach pg2"
        time.sleep(0.2)
    assert REPLICATOR[1] not in json.dumps(events)  # the secret param stays out of the output


def test_a_failure_before_the_promotion_puts_the_old_primary_back(
    pair: Pair, corral_project: CorralProject
) -> None:
    proc = start_run(corral_project, "dr-failover.yml", pair,
                     "-p", "old_primary=pg1", "-p", "new_primary=pg2")  # fmt: skip
    rows = rows_now(pair)
    stop_replica = ["pg_ctlcluster", VERSION, CLUSTER, "stop"]
    # The replica dies while the approver is reading the question: the promotion fails.
    code, events = approve_and_finish(
        corral_project, proc, lambda: pair.fleet.check(pair.replica, stop_replica) and None
    )
    assert code == 2
    undo = "Put the old primary back in service (the replica was not promoted)"
    rolled_back = [e for e in events if e["event"] == "task_result" and e["task"] == undo]
    assert [e["status"] for e in rolled_back] == ["changed"]
    # The old primary serves the clients again, and would start after a reboot.
    assert online(pair, pair.primary)
    assert pair.through_lb() == f"{pair.primary.address}|f|{rows}"
    assert (
        pair.fleet.check(
            pair.primary, ["cat", f"/etc/postgresql/{VERSION}/{CLUSTER}/start.conf"]
        ).strip()
        == "auto"
    )


def test_failover_and_failback_through_a_dns_record_file(
    pair: Pair, corral_project: CorralProject
) -> None:
    fleet, dns = pair.fleet, "/etc/corral/dns/db.hosts"
    record = f"mkdir -p /etc/corral/dns && echo '{pair.primary.address} db.internal' > {dns}"
    fleet.check(pair.lb, ["sh", "-c", record])
    rows = rows_now(pair)
    by_dns = ["-p", "repoint=dns_file", "-p", f"dns_host={pair.lb.name}"]
    proc = start_run(corral_project, "dr-failover.yml", pair,
                     "-p", "old_primary=pg1", "-p", "new_primary=pg2", *by_dns)  # fmt: skip
    code, events = approve_and_finish(corral_project, proc)
    assert code == 0, [e for e in events if e.get("status") == "failed"]
    # A client that resolves the name through the file reaches the promoted node.
    assert fleet.check(pair.lb, ["cat", dns]) == f"{pair.replica.address} db.internal\n"
    address = fleet.check(pair.lb, ["cat", dns]).split()[0]
    served = client_query(fleet, pair.lb, address, pair.port, WHO)
    assert served == f"{pair.replica.address}|f|{rows}"
    assert not online(pair, pair.primary)
    failback(pair, corral_project, rows, *by_dns)
    assert fleet.check(pair.lb, ["cat", dns]) == f"{pair.primary.address} db.internal\n"


def test_a_node_that_is_not_a_replica_is_refused_before_the_approval(
    pair: Pair, corral_project: CorralProject
) -> None:
    proc = start_run(corral_project, "dr-failover.yml", pair,
                     "-p", "old_primary=pg2", "-p", "new_primary=pg1")  # fmt: skip
    code, events = finish(proc)
    assert code == 2
    failed = [e["result"]["msg"] for e in events
              if e["event"] == "task_result" and e["status"] == "failed"]  # fmt: skip
    assert failed == [
        "pg1 is not a replica (pg_is_in_recovery() is false): there is nothing to promote"
    ]
    assert not [e for e in events if e["event"] == "approval"]
    # Nothing changed: pg1 still serves the clients and pg2 still streams from it.
    assert pair.through_lb().startswith(f"{pair.primary.address}|f|")
    assert streaming(pair, pair.replica)

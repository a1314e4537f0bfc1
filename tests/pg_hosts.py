"""PostgreSQL on the Debian test hosts of the ``services`` image, for the playbooks' tests.

The image has PostgreSQL 15 installed but no cluster (tests/debian_image.py): these
helpers make one, run SQL in it as the postgres user (through docker exec, not corral),
and write an inventory that adds the groups a playbook targets to the fleet's inventory.
Containers share the machine's network, so a cluster that must be reached over TCP
listens on its host's own 127.A.B.C address and a port found free there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from debian_hosts import DebianFleet, DebianHost

VERSION = "15"
CLUSTER = "main"
REPO_ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO_ROOT / "playbooks"


def create_cluster(
    fleet: DebianFleet, host: DebianHost | str, port: int, *, listen: str = "", hba: str = ""
) -> None:
    """Create and start cluster 15/main on ``port``, on the Unix socket only unless ``listen``.

    ``hba`` lines are added to pg_hba.conf (for replication or clients over TCP).
    """
    fleet.check(host, ["pg_createcluster", "--port", str(port), VERSION, CLUSTER])
    conf = f"/etc/postgresql/{VERSION}/{CLUSTER}"
    # The last setting in the file wins.
    setting = f"listen_addresses = '{listen}'"
    fleet.check(host, ["sh", "-c", f'echo "{setting}" >> {conf}/postgresql.conf'])
    if hba:
        fleet.check(host, ["sh", "-c", f"printf '%s\\n' '{hba}' >> {conf}/pg_hba.conf"])
    fleet.check(host, ["pg_ctlcluster", VERSION, CLUSTER, "start"])


def psql(
    fleet: DebianFleet, host: DebianHost | str, port: int, sql: str, db: str = "postgres"
) -> str:
    """Run ``sql`` with psql as postgres on the host's socket; its unaligned output."""
    argv = ["psql", "--port", str(port), "--dbname", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]
    result = fleet.exec(host, argv, user="postgres")
    assert result.rc == 0, f"psql on {host}: {result.stderr}{result.stdout}"
    return result.stdout.strip()


def inventory(
    fleet: DebianFleet,
    path: Path,
    groups: Mapping[str, Sequence[str]],
    host_vars: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """The fleet's inventory plus ``groups`` (name: host names) and host variables."""
    data = yaml.safe_load(fleet.inventory.read_text())
    children = data["all"]["children"]
    for name, members in groups.items():
        children[name] = {"hosts": {member: {} for member in members}}
    for name, variables in (host_vars or {}).items():
        children["debian"]["hosts"][name].update(variables)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


REPLICATOR = ("replicator", "replica-secret")
APP = ("app", "app-secret")
HBA = (
    "host replication replicator 127.0.0.0/8 scram-sha-256\nhost all all 127.0.0.0/8 scram-sha-256"
)


def primary_and_replica(
    fleet: DebianFleet, primary: DebianHost, replica: DebianHost, port: int
) -> None:
    """A primary on its address and ``port``, and a streaming replica of it on the other host.

    Both allow replication and clients from 127.0.0.0/8 with passwords (:data:`REPLICATOR`,
    :data:`APP`, which owns the ``shop`` database).
    """
    create_cluster(fleet, primary, port, listen=primary.address, hba=HBA)
    psql(fleet, primary, port, f"create role {REPLICATOR[0]} replication login password "
                               f"'{REPLICATOR[1]}'; create role {APP[0]} login password "
                               f"'{APP[1]}'")  # fmt: skip
    psql(fleet, primary, port, f"create database shop owner {APP[0]}")
    create_cluster(fleet, replica, port, listen=replica.address, hba=HBA)
    fleet.check(replica, ["pg_ctlcluster", VERSION, CLUSTER, "stop"])
    data = f"/var/lib/postgresql/{VERSION}/{CLUSTER}"
    fleet.check(replica, ["sh", "-c", f"rm -rf {data} && install -d -o postgres -m 700 {data}"])
    # --checkpoint=fast: the default (spread) checkpoint made the copy wait about 90 s.
    basebackup = (
        f"PGPASSWORD={REPLICATOR[1]} pg_basebackup --host {primary.address} --port {port} "
        f"--username {REPLICATOR[0]} --pgdata {data} --write-recovery-conf --wal-method=stream "
        "--checkpoint=fast"
    )
    result = fleet.exec(replica, ["sh", "-c", basebackup], user="postgres")
    assert result.rc == 0, result.stderr
    fleet.check(replica, ["pg_ctlcluster", VERSION, CLUSTER, "start"])


def haproxy(
    fleet: DebianFleet, host: DebianHost, port: int, servers: Mapping[str, str], active: str
) -> None:
    """HAProxy on ``host``: backend ``pg`` (TCP) on its address and ``port``, with ``servers``
    (name: address:port), all but ``active`` disabled; the runtime API at the default socket."""
    lines = [
        "global", "    stats socket /run/haproxy/admin.sock mode 600 level admin",
        "    pidfile /run/haproxy.pid", "    daemon",
        "defaults", "    mode tcp", "    timeout connect 2s", "    timeout client 1m",
        "    timeout server 1m",
        "listen pg", f"    bind {host.address}:{port}",
    ]  # fmt: skip
    for name, target in servers.items():
        lines.append(f"    server {name} {target}" + ("" if name == active else " disabled"))
    fleet.write(host, "/etc/haproxy/haproxy.cfg", "\n".join(lines) + "\n")
    fleet.check(host, ["sh", "-c", "mkdir -p /run/haproxy && haproxy -f /etc/haproxy/haproxy.cfg"])


def client_query(fleet: DebianFleet, host: DebianHost, address: str, port: int, sql: str) -> str:
    """``sql`` in the shop database as the app user over TCP (through HAProxy), from ``host``;
    its output, or "" when the server cannot be reached."""
    command = (
        f"PGPASSWORD={APP[1]} PGCONNECT_TIMEOUT=3 psql --host {address} --port {port} "
        f'--username {APP[0]} --dbname shop -At -v ON_ERROR_STOP=1 -c "{sql}"'
    )
    result = fleet.exec(host, ["sh", "-c", command])
    return result.stdout.strip() if result.rc == 0 else ""

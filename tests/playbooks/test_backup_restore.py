"""playbooks/backup.yml and playbooks/restore-drill.yml on real Debian hosts over SSH.

Three hosts of the ``services`` image: ``pg1`` runs PostgreSQL 15 with a shop database
and a config directory, ``pg2`` keeps the backups, ``pg3`` is the drill's scratch host.
The backup is made once for the module; the tests then check what an ops engineer would:
the set on the backup host and its checksum, the retention, the report and notification,
a drill whose restored row counts equal those recorded at backup time, with its measured
recovery time; and a corrupted set that fails the drill with a clear message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from debian_hosts import DebianFleet, FleetFactory
from pg_hosts import PLAYBOOKS, create_cluster, inventory, psql
from pytest_httpserver import HTTPServer
from task_results import hook_reports, webhook

from corral.testing import CorralProject
from corral.testing.fixtures import CliResult

pytestmark = pytest.mark.slow

PORT = 5432  # the clusters listen on their Unix socket only: no clash between containers
ORDERS = 1000
CUSTOMERS = 37
ROOT = "/srv/backups"
# Older sets already on the backup host: one past the age limit, one within both limits,
# one beyond the count (keep_count 3 counts the new set first).
OLD_SETS = {
    "pg1-20251101T000000Z.tar": 40,  # days old: pruned by age
    "pg1-20251001T000000Z.tar": 1,  # kept
    "pg1-20250901T000000Z.tar": 1,  # the fourth newest: pruned by count
}


@dataclass
class Backup:
    fleet: DebianFleet
    project: CorralProject
    inventory: Path
    result: CliResult
    hook: HTTPServer
    seconds: float


def run_playbook(
    project: CorralProject, name: str, inv: Path, params: dict[str, Any], *args: str
) -> CliResult:
    """``corral run playbooks/NAME -p @params.yml`` in its own process, as cron would."""
    params_file = project.path / f"{name}.params.yml"
    params_file.write_text(yaml.safe_dump(params))
    playbook = str(PLAYBOOKS / name)
    return project.run_subprocess(
        "run", playbook, "-i", str(inv), "-p", f"@{params_file}", "--output", "json", *args
    )


def events(result: CliResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def hook() -> Iterator[HTTPServer]:
    yield from webhook()


@pytest.fixture(scope="module")
def backup(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory, hook: HTTPServer
) -> Backup:
    fleet = module_debian_fleet(3, image="services", prefix="pg")
    create_cluster(fleet, "pg1", PORT)
    psql(fleet, "pg1", PORT, "create database shop")
    psql(
        fleet, "pg1", PORT,
        "create table customers (id serial primary key, name text);"
        f"insert into customers (name) select 'c' || i from generate_series(1, {CUSTOMERS}) i;"
        "create table orders (id serial primary key, amount numeric);"
        f"insert into orders (amount) select i from generate_series(1, {ORDERS}) i;",
        db="shop",
    )  # fmt: skip
    fleet.check("pg1", ["sh", "-c", "mkdir -p /etc/shop && echo 'tax: 19' > /etc/shop/shop.yml"])
    fleet.check("pg2", ["mkdir", "-p", f"{ROOT}/pg1"])
    for name, days in OLD_SETS.items():
        fleet.check("pg2", ["sh", "-c", f"cd {ROOT}/pg1 && echo old > {name} && touch "
                                         f"-d '{days} days ago' {name}"])  # fmt: skip
    base = tmp_path_factory.mktemp("backup")
    project = CorralProject(path=base / "project", env={"CORRAL_HOME": str(base / "home")})
    project.path.mkdir()
    inv = inventory(fleet, base / "inventory.yml", {"db": ["pg1"], "scratch": ["pg3"]})
    params = {
        "db_hosts": "db", "backup_host": "pg2", "pg_port": PORT, "files": ["/etc/shop"],
        "keep_count": 3, "keep_days": 30, "staging": str(base / "staging"), "base_backup": True,
        "notify_url": hook.url_for("/hook"),
    }  # fmt: skip
    started = time.monotonic()
    result = run_playbook(project, "backup.yml", inv, params)
    return Backup(fleet, project, inv, result, hook, time.monotonic() - started)


def drill(backup: Backup, *args: str, **params: Any) -> CliResult:
    defaults = {
        "source": "pg1", "scratch_host": "scratch", "backup_host": "pg2",
        "staging": str(backup.project.path / "drill-staging"),
        "notify_url": backup.hook.url_for("/hook"),
    }  # fmt: skip
    return run_playbook(
        backup.project, "restore-drill.yml", backup.inventory, defaults | params, *args
    )


def last_json(backup: Backup, name: str) -> dict[str, Any]:
    return json.loads(backup.fleet.check("pg2", ["cat", f"{ROOT}/pg1/{name}"]))


def test_backup_keeps_a_checked_set_prunes_old_ones_and_reports(backup: Backup) -> None:
    assert backup.result.exit_code == 0, backup.result.output
    fleet = backup.fleet
    kept = sorted(fleet.check("pg2", ["ls", f"{ROOT}/pg1"]).split())
    new = [n for n in kept if n.endswith(".tar") and n not in OLD_SETS]
    assert len(new) == 1, kept
    (set_name,) = new
    # Age and count pruned the oldest; the new set has its checksum and report beside it.
    assert [n for n in kept if n in OLD_SETS] == ["pg1-20251001T000000Z.tar"]
    assert {f"{set_name}.sha256", set_name.replace(".tar", ".json"), "last-backup.json"} <= set(
        kept
    )
    fleet.check(
        "pg2", ["sh", "-c", f"cd {ROOT}/pg1 && sha256sum --check --strict {set_name}.sha256"]
    )
    # The set holds the dump, the files, the counts and checksums of every file.
    listing = fleet.check("pg2", ["tar", "-tf", f"{ROOT}/pg1/{set_name}"]).split()
    assert {"./shop.dump", "./postgres.dump", "./files.tar.gz", "./counts.json",
            "./manifest.json", "./SHA256SUMS", "./base/base.tar.gz"} <= set(listing)  # fmt: skip
    manifest = json.loads(
        fleet.check("pg2", ["tar", "-xOf", f"{ROOT}/pg1/{set_name}", "./manifest.json"])
    )
    assert manifest["counts"]["shop"] == {"public.customers": CUSTOMERS, "public.orders": ORDERS}
    report = last_json(backup, "last-backup.json")
    assert report["status"] == "ok"
    assert sorted(report["pruned"]) == ["pg1-20250901T000000Z.tar", "pg1-20251101T000000Z.tar"]
    assert report["set"] == set_name
    assert [r for r in hook_reports(backup.hook, "backup") if r["status"] == "ok"] == [report]
    # Nothing is left behind on the database host.
    assert fleet.check("pg1", ["ls", "-A", "/var/backups/corral"]).strip() == ""
    print(f"backup of pg1 took {backup.seconds:.1f} s")


def test_restore_drill_restores_the_recorded_counts_and_times_itself(backup: Backup) -> None:
    assert backup.result.exit_code == 0, backup.result.output
    result = drill(
        backup, verify_database="shop", verify_query="select sum(amount) from orders",
        verify_expect=str(ORDERS * (ORDERS + 1) // 2),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = last_json(backup, "last-drill.json")
    assert report["status"] == "ok", report
    assert report["counts"]["shop"] == {"public.customers": CUSTOMERS, "public.orders": ORDERS}
    assert report["query_output"] == str(ORDERS * (ORDERS + 1) // 2)
    assert 0 < report["recovery_seconds"] < 300
    said = [e["result"].get("msg", "") for e in events(result) if e["event"] == "task_result"]
    assert any("verified it in" in str(m) for m in said)
    assert report in hook_reports(backup.hook, "restore-drill")
    # The throw-away cluster is gone again.
    assert "corral_drill" not in backup.fleet.check("pg3", ["pg_lsclusters"])
    print(f"restore drill: recovery time {report['recovery_seconds']} s")


def test_a_corrupted_set_fails_the_drill_with_a_clear_message(backup: Backup) -> None:
    assert backup.result.exit_code == 0, backup.result.output
    fleet = backup.fleet
    # A newer copy of the set, one byte of it changed, and the checksum made at backup time.
    newest = fleet.check("pg2", ["sh", "-c", f"ls {ROOT}/pg1/pg1-2*.tar | sort | tail -1"]).strip()
    bad = f"{ROOT}/pg1/pg1-29991231T000000Z.tar"
    fleet.check("pg2", ["sh", "-c", (
        f"cp {newest} {bad} && printf X | dd of={bad} bs=1 seek=2000 conv=notrunc 2>/dev/null && "
        f"sed 's/ .*/  pg1-29991231T000000Z.tar/' {newest}.sha256 > {bad}.sha256"
    )])  # fmt: skip
    try:
        checked = drill(backup, "--check")
        assert checked.exit_code == 0, checked.output
        result = drill(backup)
    finally:
        fleet.check("pg2", ["rm", "-f", bad, f"{bad}.sha256"])
    assert result.exit_code == 2, result.output
    assert "checksum mismatch" in result.stdout
    assert "pg1-29991231T000000Z.tar does not match the SHA-256" in result.stdout
    report = last_json(backup, "last-drill.json")
    assert report["status"] == "failed"
    assert "checksum mismatch" in report["error"]
    assert "corral_drill" not in fleet.check("pg3", ["pg_lsclusters"])


def test_a_failed_backup_is_reported_and_leaves_nothing_behind(backup: Backup) -> None:
    assert backup.result.exit_code == 0, backup.result.output
    fleet = backup.fleet
    before = fleet.check("pg2", ["ls", f"{ROOT}/pg1"])
    staging = backup.project.path / "failed-staging"
    checked = run_playbook(backup.project, "backup.yml", backup.inventory,
                           {"db_hosts": "db", "backup_host": "pg2", "staging": str(staging)},
                           "--check")  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert fleet.check("pg2", ["ls", f"{ROOT}/pg1"]) == before  # check mode sent nothing
    params = {
        "db_hosts": "db", "backup_host": "pg2", "pg_port": PORT, "databases": ["nosuch"],
        "staging": str(staging), "notify_url": backup.hook.url_for("/hook"),
    }  # fmt: skip
    result = run_playbook(backup.project, "backup.yml", backup.inventory, params)
    assert result.exit_code == 2, result.output
    assert "backup of pg1 failed" in result.stdout
    (failed,) = [r for r in hook_reports(backup.hook, "backup") if r["status"] == "failed"]
    assert failed["host"] == "pg1"
    assert "nosuch" in result.stdout
    # No set reached the backup host; none is left on the database host or the controller.
    assert fleet.check("pg2", ["ls", f"{ROOT}/pg1"]) == before
    assert fleet.check("pg1", ["ls", "-A", "/var/backups/corral"]).strip() == ""
    assert not any(staging.glob("*.tar*"))

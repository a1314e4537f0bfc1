"""The ``database.migrate`` step: apply versioned ``.sql`` files, each exactly once.

Files are named ``<version>_<name>.sql`` (``001_create_users.sql``,
``V2__add_index.sql``, ``20240601_backfill.sql``); the version is the leading number.
Each pending file runs in its own transaction together with the row that records
it in the history table, so a file that fails leaves nothing behind on databases
whose DDL is transactional (PostgreSQL, SQLite). An applied file whose content has
changed since is an error: history is not rewritten.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import sqlite3
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.database.connect import (
    CONNECT_PROPERTIES,
    DEFAULT_CONNECT_TIMEOUT,
    DatabaseTarget,
    database_error,
    open_engine,
    parse_target,
    run_statement,
)

__all__ = [
    "MIGRATE_SCHEMA",
    "Migration",
    "migrate",
    "parse_migration_name",
    "read_migrations",
    "split_sqlite_script",
]

DEFAULT_TABLE = "schema_migrations"

_NAME = re.compile(r"^[Vv]?(?P<version>\d+)(?:[_.-]+(?P<name>.*?))?\.sql$")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)

MIGRATE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "path"],
    "properties": {
        **CONNECT_PROPERTIES,
        "path": {
            "type": "string",
            "minLength": 1,
            "description": "The directory of `.sql` files on the controller, looked up in "
            "`files/` beside the task file, then beside it. Files are named "
            "`<version>_<name>.sql` and applied in version order.",
        },
        "table": {
            "type": "string",
            "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
            "default": DEFAULT_TABLE,
            "description": "The table that records applied migrations (`schema.table` "
            "allowed); created when missing.",
        },
        "target": {
            "type": "integer",
            "minimum": 0,
            "description": "Apply migrations up to and including this version only.",
        },
        "verify_checksums": {
            "type": "boolean",
            "default": True,
            "description": "Fail when an already applied file has been edited since it ran "
            "(its sha256 differs from the recorded one).",
        },
    },
}


@dataclass(frozen=True)
class Migration:
    """One ``.sql`` file: its version, name, text and sha256."""

    version: int
    name: str
    file: str
    sql: str
    checksum: str


def parse_migration_name(filename: str) -> tuple[int, str] | None:
    """``"002_add_index.sql"`` -> ``(2, "add_index")``; None for a name without a version."""
    match = _NAME.match(filename)
    if match is None:
        return None
    return int(match.group("version")), match.group("name") or ""


def read_migrations(directory: Path) -> list[Migration]:
    """The ``.sql`` files of ``directory`` by version; StepFailed on a bad or clashing name."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        parsed = parse_migration_name(path.name)
        if parsed is None:
            raise StepFailed(
                f"migration file {path.name} has no version number",
                hint="name migration files <version>_<name>.sql, e.g. 001_create_users.sql",
            )
        version, name = parsed
        if version in found:
            raise StepFailed(
                f"migrations {found[version].file} and {path.name} have the same version {version}"
            )
        raw = path.read_bytes()
        found[version] = Migration(
            version=version,
            name=name,
            file=path.name,
            sql=raw.decode("utf-8"),
            checksum=hashlib.sha256(raw).hexdigest(),
        )
    return [found[version] for version in sorted(found)]


def split_sqlite_script(script: str) -> list[str]:
    """Split a script into statements for SQLite, which runs one per call.

    ``sqlite3.complete_statement`` decides where a statement ends, so semicolons in
    strings, comments and trigger bodies are handled as SQLite itself handles them.
    """
    statements: list[str] = []
    pieces = script.split(";")
    current = ""
    for index, piece in enumerate(pieces):
        current += piece
        last = index == len(pieces) - 1
        if not last:
            current += ";"
        if last or sqlite3.complete_statement(current):
            if _COMMENT.sub("", current).strip(" \t\r\n;"):
                statements.append(current.strip())
            current = ""
    return statements


# -- the step -------------------------------------------------------------------------


def migrate(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Apply the pending migrations of a directory, in version order, each once."""
    target = parse_target(args)
    table_name = str(args.get("table", DEFAULT_TABLE))
    data: dict[str, Any] = {"url": target.shown, "table": table_name, "applied": [], "pending": []}
    directory = ctx.find_file(args["path"], "files")
    if directory is None or not directory.is_dir():
        return StepResult(
            failed=True,
            msg=f"migrations directory {args['path']!r} not found on the controller",
            data=data,
        )
    migrations = read_migrations(directory)
    if "target" in args:
        migrations = [m for m in migrations if m.version <= int(args["target"])]
    table = _history_table(table_name)
    # SQLite: take the write lock when each transaction starts, so that two runs
    # queue up instead of both reading "not applied" and then colliding.
    engine = open_engine(
        target,
        connect_timeout=float(args.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)),
        statement_timeout=ctx.timeout,
        begin="BEGIN IMMEDIATE",
    )
    try:
        with engine.connect() as conn:
            with conn.begin():
                applied = _applied(conn, table)
            if args.get("verify_checksums", True):
                _verify(migrations, applied)
            pending = [m for m in migrations if m.version not in applied]
            data["pending"] = [m.file for m in pending]
            data["version"] = max(applied, default=None)
            if ctx.check_mode or not pending:
                return _unchanged_or_planned(ctx, data, pending, len(applied))
            with conn.begin():
                table.create(conn, checkfirst=True)
            return _apply_all(conn, target, table, pending, data)
    except Exception as exc:
        return StepResult(
            failed=True, msg=f"{target.shown}: {database_error(target, exc)}", data=data
        )
    finally:
        engine.dispose()


def _unchanged_or_planned(
    ctx: StepContext, data: dict[str, Any], pending: list[Migration], applied: int
) -> StepResult:
    if not pending:
        return StepResult(msg=f"all {applied} migrations already applied", data=data)
    names = ", ".join(m.file for m in pending)
    return StepResult(
        changed=True, msg=f"would apply {len(pending)} migrations: {names}", data=data
    )


def _apply_all(
    conn: Any, target: DatabaseTarget, table: Any, pending: list[Migration], data: dict[str, Any]
) -> StepResult:
    for migration in pending:
        try:
            with conn.begin():
                if _apply(conn, target, table, migration):
                    data["applied"].append(migration.file)
        except Exception as exc:
            detail = database_error(target, exc)
            data["failed_migration"] = migration.file
            data["pending"] = [m.file for m in pending if m.file not in data["applied"]]
            return StepResult(
                failed=True,
                changed=bool(data["applied"]),
                msg=f"migration {migration.file} failed and was rolled back: {detail}",
                data=data,
            )
        data["version"] = max(migration.version, data["version"] or 0)
    data["pending"] = []
    count = len(data["applied"])
    if not count:
        return StepResult(msg="all migrations already applied (by another run)", data=data)
    return StepResult(changed=True, msg=f"applied {count} migrations", data=data)


def _apply(conn: Any, target: DatabaseTarget, table: Any, migration: Migration) -> bool:
    """Run one migration and record it, inside the caller's transaction; False if already there."""
    from sqlalchemy import select, text

    if target.dialect == "postgresql":
        # Serialises concurrent runs against the same history table until commit.
        key = zlib.crc32(str(table.fullname).encode())
        conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": key})
    if conn.execute(select(table.c.version).where(table.c.version == migration.version)).first():
        return False
    statements = (
        split_sqlite_script(migration.sql) if target.dialect == "sqlite" else [migration.sql]
    )
    for statement in statements:
        run_statement(conn, statement, None)
    conn.execute(
        table.insert().values(
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
            applied_at=datetime.datetime.now(datetime.UTC),
        )
    )
    return True


def _history_table(name: str) -> Any:
    from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table

    schema, _, table = name.rpartition(".")
    return Table(
        table,
        MetaData(),
        Column("version", BigInteger, primary_key=True, autoincrement=False),
        Column("name", String(255), nullable=False),
        Column("checksum", String(64), nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False),
        schema=schema or None,
    )


def _applied(conn: Any, table: Any) -> dict[int, str]:
    """Applied versions and their checksums; empty when the table does not exist yet."""
    from sqlalchemy import inspect, select

    if not inspect(conn).has_table(table.name, schema=table.schema):
        return {}
    rows = conn.execute(select(table.c.version, table.c.checksum))
    return {int(version): str(checksum) for version, checksum in rows}


def _verify(migrations: list[Migration], applied: Mapping[int, str]) -> None:
    for migration in migrations:
        recorded = applied.get(migration.version)
        if recorded is not None and recorded != migration.checksum:
            raise StepFailed(
                f"migration {migration.file} was edited after it was applied (its sha256 differs)",
                hint="add a new migration instead of changing an applied one, "
                "or set verify_checksums: false",
            )

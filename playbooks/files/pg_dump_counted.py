#!/usr/bin/env python3
"""Dump PostgreSQL databases with pg_dump and count their rows in the same snapshot.

Run on the database host as the postgres user by playbooks/backup.yml:

    pg_dump_counted.py PORT DIR [DATABASE ...]
    pg_dump_counted.py --count PORT DATABASE ...


For each database (every one that is not a template when none is named) it writes
DIR/<database>.dump (pg_dump's custom format) and records the exact row count of every
table in DIR/counts.json. The counts and the dump read one exported snapshot, so writes
that land while the backup runs change neither: the restore drill can demand that the
restored counts equal these. With ``--count`` it only prints the counts (as JSON, by
database): restore-drill.yml counts the restored databases with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

COUNTED_TABLES = """
select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg_toast%' order by 1, 2
"""


def databases(port: str) -> list[str]:
    with psycopg2.connect(dbname="postgres", port=port) as conn, conn.cursor() as cur:
        cur.execute("select datname from pg_database where not datistemplate order by 1")
        return [name for (name,) in cur.fetchall()]


def count_rows(cur: Any) -> dict[str, int]:
    """The exact row count of every table the cursor's database has, by ``schema.table``."""
    counts: dict[str, int] = {}
    cur.execute(COUNTED_TABLES)
    for schema, table in cur.fetchall():
        query = sql.SQL("select count(*) from {}.{}")
        cur.execute(query.format(sql.Identifier(schema), sql.Identifier(table)))
        counts[f"{schema}.{table}"] = cur.fetchone()[0]
    return counts


def dump(port: str, directory: Path | None, database: str) -> dict[str, int]:
    """Dump one database from an exported snapshot; the row counts seen in that snapshot."""
    conn = psycopg2.connect(dbname=database, port=port)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("select pg_export_snapshot()")
            (snapshot,) = cur.fetchone()
            counts = count_rows(cur)
            if directory is not None:
                # The transaction stays open until pg_dump is done: the snapshot lives as long.
                target = directory / f"{database}.dump"
                subprocess.run(
                    ["pg_dump", "--format=custom", f"--port={port}", f"--snapshot={snapshot}",
                     f"--file={target}", database],
                    check=True,
                )  # fmt: skip
        conn.rollback()
    finally:
        conn.close()
    return counts


def main(argv: list[str]) -> int:
    if argv[:1] == ["--count"] and len(argv) >= 3:
        print(json.dumps({name: dump(argv[1], None, name) for name in argv[2:]}, sort_keys=True))
        return 0
    if len(argv) < 2 or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    port, directory, names = argv[0], Path(argv[1]), argv[2:]
    counts: dict[str, dict[str, int]] = {}
    for name in names or databases(port):
        try:
            counts[name] = dump(port, directory, name)
        except (psycopg2.Error, subprocess.CalledProcessError) as exc:
            # One line naming the database: the playbook's report shows the last line.
            print(f"{name}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
            return 1
    (directory / "counts.json").write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

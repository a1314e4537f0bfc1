"""The database.* steps, run through ``corral run`` against SQLite files and a real PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import postgres as postgres_service
import pytest
from jsonschema import Draft202012Validator
from postgres import PostgresServer

from corral import StepType
from corral_plugins import database
from corral_plugins.database.backup import libpq_conninfo, pgpass_line
from corral_plugins.database.connect import parse_target, plain_value, reads_only
from corral_plugins.database.migrate import parse_migration_name, split_sqlite_script

postgres = postgres_service.postgres  # the module-scoped server fixture

HOSTS = "localhost ansible_connection=local\n"
HOSTILE = "x'); drop table t; --"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "steps" / "database.md"


def _steps() -> list[StepType]:
    found: list[StepType] = []
    database.corral_register_steps(register=found.append)
    return found


def run(project: Any, playbook: str, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    project.write("hosts.ini", HOSTS)
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json", *args)
    return result, result.json_lines()


def results(events: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [e["result"] for e in events if e["event"] == "task_result" and e["action"] == action]


def play(*tasks: str) -> str:
    body = "".join(f"    {line}\n" for task in tasks for line in task.strip("\n").splitlines())
    return f"- hosts: localhost\n  gather_facts: false\n  tasks:\n{body}"


# -- SQLite through the CLI ------------------------------------------------------------


def test_execute_and_query_bind_a_hostile_value_instead_of_running_it(corral_project, tmp_path):
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    result, events = run(
        corral_project,
        play(
            f"""
- database.execute:
    url: "{url}"
    statements:
      - create table if not exists t (id int, name text)
      - {{sql: "insert into t values (:id, :name)", params: {{id: 1, name: "{{{{ evil }}}}"}}}}
- database.query:
    url: "{url}"
    query: "select id, name from t where name = :name"
    params: {{name: "{{{{ evil }}}}"}}
  register: q
- database.query:
    url: "{url}"
    query: "select count(*) as n from t where name = :name"
    params: {{name: "' or '1'='1"}}
  register: none
""",
        ),
        "-e",
        json.dumps({"evil": HOSTILE}),
    )
    assert result.exit_code == 0, result.output
    executed, found, nothing = results(events, "database.execute") + results(
        events, "database.query"
    )
    assert executed["changed"] is True
    assert executed["rowcounts"] == [-1, 1]
    assert found["rows"] == [{"id": 1, "name": HOSTILE}]
    assert found["rowcount"] == 1
    assert found["columns"] == ["id", "name"]
    assert found["changed"] is False
    assert nothing["rows"] == [{"n": 0}]
    with sqlite3.connect(db) as conn:  # the table survived, holding the text as data
        assert conn.execute("select name from t").fetchall() == [(HOSTILE,)]


def test_execute_rolls_back_every_statement_when_one_fails(corral_project, tmp_path):
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    result, events = run(
        corral_project,
        play(
            f"""
- database.execute:
    url: "{url}"
    statements:
      - create table t (id int)
      - insert into t values (1)
      - insert into nope values (2)
"""
        ),
    )
    assert result.exit_code == 2
    (failed,) = results(events, "database.execute")
    assert failed["failed"] is True
    assert failed["failed_statement"] == 3
    assert "statement 3 of 3 failed, so none was committed: no such table: nope" in failed["msg"]
    with sqlite3.connect(db) as conn:  # even the CREATE TABLE was rolled back
        assert conn.execute("select name from sqlite_master").fetchall() == []


def test_check_mode_runs_and_rolls_back(corral_project, tmp_path):
    db = tmp_path / "app.db"
    sqlite3.connect(db).execute("create table t (id int)").connection.close()
    url = f"sqlite:///{db}"
    result, events = run(
        corral_project,
        play(
            f"""
- database.execute:
    url: "{url}"
    statements: ["insert into t values (1)", "insert into t values (2)"]
- database.query: {{url: "{url}", query: "delete from t"}}
"""
        ),
        "--check",
    )
    assert result.exit_code == 0, result.output
    (executed,) = results(events, "database.execute")
    assert executed["changed"] is True
    assert executed["msg"] == "ran 2 statements in one transaction and rolled it back (check mode)"
    (deleted,) = results(events, "database.query")
    assert deleted["changed"] is False  # the table is empty: the delete would change nothing
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from t").fetchone() == (0,)


def test_a_long_sqlite_query_stops_at_the_task_timeout(corral_project):
    endless = (
        "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
    )
    result, events = run(
        corral_project,
        play(f'- database.query: {{url: "sqlite://", query: "{endless}"}}\n  timeout: 1'),
    )
    assert result.exit_code == 2
    (stopped,) = results(events, "database.query")
    assert stopped["timed_out"] is True
    assert stopped["msg"] == "sqlite://: interrupted at the task's timeout"


def test_query_reports_a_database_error_on_one_line(corral_project, tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result, events = run(
        corral_project,
        play(
            f'- database.query: {{url: "{url}", query: "select * from missing where a = :a",'
            " params: {a: 1}}"
        ),
    )
    assert result.exit_code == 2
    (failed,) = results(events, "database.query")
    assert failed["msg"] == f"{url}: no such table: missing"


def _write_migrations(project: Any, files: dict[str, str]) -> None:
    for name, sql in files.items():
        project.write(f"files/migrations/{name}", sql)


MIGRATIONS = {
    "001_create_users.sql": "create table users (id integer primary key, name text);\n"
    "-- a comment; with a semicolon\ninsert into users (name) values ('a;b');\n",
    "002_add_email.sql": "alter table users add column email text;",
    "010_trigger.sql": "create table audit (id int);\n"
    "create trigger t after insert on users begin insert into audit values (new.id); end;\n",
}


def test_migrate_applies_each_file_once_and_check_mode_lists_pending(corral_project, tmp_path):
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    _write_migrations(corral_project, MIGRATIONS)
    task = play(f'- database.migrate: {{url: "{url}", path: migrations}}')

    result, events = run(corral_project, task, "--check")
    assert result.exit_code == 0, result.output
    (planned,) = results(events, "database.migrate")
    assert planned["changed"] is True
    assert planned["pending"] == list(MIGRATIONS)
    assert (
        not db.exists() or not sqlite3.connect(db).execute("select * from sqlite_master").fetchall()
    )

    result, events = run(corral_project, task)
    assert result.exit_code == 0, result.output
    (applied,) = results(events, "database.migrate")
    assert applied["changed"] is True
    assert applied["applied"] == list(MIGRATIONS)
    assert applied["version"] == 10

    result, events = run(corral_project, task)
    (again,) = results(events, "database.migrate")
    assert again["changed"] is False
    assert again["msg"] == "all 3 migrations already applied"

    corral_project.write("files/migrations/011_more.sql", "insert into users (name) values ('c');")
    result, events = run(corral_project, task)
    (more,) = results(events, "database.migrate")
    assert more["applied"] == ["011_more.sql"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select name, email from users order by id").fetchall() == [
            ("a;b", None),
            ("c", None),
        ]
        assert conn.execute("select count(*) from audit").fetchone() == (1,)  # only after 010
        versions = conn.execute(
            "select version, name from schema_migrations order by version"
        ).fetchall()
    assert versions == [(1, "create_users"), (2, "add_email"), (10, "trigger"), (11, "more")]


def test_migrate_stops_at_a_failing_file_and_keeps_earlier_ones(corral_project, tmp_path):
    db = tmp_path / "app.db"
    _write_migrations(
        corral_project,
        {
            "1_ok.sql": "create table a (id int);",
            "2_bad.sql": "create table b (id int); insert into nope values (1);",
        },
    )
    result, events = run(
        corral_project, play(f'- database.migrate: {{url: "sqlite:///{db}", path: migrations}}')
    )
    assert result.exit_code == 2
    (failed,) = results(events, "database.migrate")
    assert failed["applied"] == ["1_ok.sql"]
    assert failed["failed_migration"] == "2_bad.sql"
    assert "migration 2_bad.sql failed and was rolled back: no such table: nope" in failed["msg"]
    with sqlite3.connect(db) as conn:
        tables = {
            row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")
        }
    assert tables == {"a", "schema_migrations"}  # b was rolled back with the failed file


def test_migrate_refuses_an_applied_file_that_was_edited(corral_project, tmp_path):
    db = tmp_path / "app.db"
    task = play(f'- database.migrate: {{url: "sqlite:///{db}", path: migrations}}')
    _write_migrations(corral_project, {"1_a.sql": "create table a (id int);"})
    assert run(corral_project, task)[0].exit_code == 0
    _write_migrations(corral_project, {"1_a.sql": "create table a (id int, x int);"})
    result, events = run(corral_project, task)
    assert result.exit_code == 2
    assert (
        "migration 1_a.sql was edited after it was applied"
        in results(events, "database.migrate")[0]["msg"]
    )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"create.sql": "select 1;"}, "migration file create.sql has no version number"),
        ({"1_a.sql": "select 1;", "001_b.sql": "select 1;"}, "have the same version 1"),
    ],
)
def test_migrate_rejects_bad_file_names(corral_project, tmp_path, files, message):
    _write_migrations(corral_project, files)
    result, events = run(
        corral_project,
        play(f'- database.migrate: {{url: "sqlite:///{tmp_path / "a.db"}", path: migrations}}'),
    )
    assert result.exit_code == 2
    assert message in results(events, "database.migrate")[0]["msg"]


def test_sqlite_backup_and_restore_through_the_backup_api(corral_project, tmp_path):
    db, copy = tmp_path / "app.db", tmp_path / "backups" / "app.db"
    copy.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (v text)")
        conn.execute("insert into t values ('before')")
    url = f"sqlite:///{db}"
    result, events = run(
        corral_project, play(f'- database.backup: {{url: "{url}", dest: "{copy}"}}')
    )
    assert result.exit_code == 0, result.output
    (backed,) = results(events, "database.backup")
    assert backed["changed"] is True
    assert backed["size"] == copy.stat().st_size > 0
    with sqlite3.connect(db) as conn:
        conn.execute("update t set v = 'after'")
    result, events = run(
        corral_project, play(f'- database.restore: {{url: "{url}", src: "{copy}"}}')
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("select v from t").fetchall() == [("before",)]
    (tmp_path / "junk.db").write_text("not a database")
    result, events = run(
        corral_project, play(f'- database.restore: {{url: "{url}", src: "{tmp_path / "junk.db"}"}}')
    )
    assert result.exit_code == 2
    assert "is not a usable SQLite backup" in results(events, "database.restore")[0]["msg"]


# -- PostgreSQL ------------------------------------------------------------------------


def test_postgres_query_execute_and_hidden_password(corral_project, postgres: PostgresServer):
    url = postgres.create_database("app")
    result, events = run(
        corral_project,
        play(
            f"""
- database.execute:
    url: "{url}"
    statements:
      - create table t (id int primary key, name text, price numeric(6, 2), born date)
      - sql: "insert into t values (:id, :name, :price, :born)"
        params: {{id: 1, name: "{HOSTILE}", price: 9.5, born: "2024-02-29"}}
- database.query:
    url: "{url}"
    query: "select * from t where id = :id and name like '%drop%'"
    params: {{id: 1}}
  register: q
- database.query: {{url: "{url}", query: "update t set name = :n where id = 2", params: {{n: z}}}}
- database.query: {{url: "{url}", query: "select * from nope"}}
  ignore_errors: true
""",
        ),
    )
    assert result.exit_code == 0, result.output
    (found, untouched, broken) = results(events, "database.query")
    assert found["rows"] == [{"id": 1, "name": HOSTILE, "price": 9.5, "born": "2024-02-29"}]
    assert found["url"] == f"postgresql+psycopg://postgres:***@127.0.0.1:{postgres.port}/app"
    assert untouched["changed"] is False  # no row matched the update
    assert untouched["rowcount"] == 0
    assert broken["msg"].endswith('relation "nope" does not exist')
    assert postgres.sql("select name from t", "app") == [(HOSTILE,)]
    assert postgres.password not in result.output
    assert postgres.url("app").split("@")[0].split(":")[-1] not in result.output  # nor URL-quoted


def test_postgres_password_argument_and_a_wrong_one(corral_project, postgres: PostgresServer):
    bare = postgres.url("postgres", with_password=False)
    result, events = run(
        corral_project,
        play(
            f"""
- database.query: {{url: "{bare}", password: "{{{{ pw }}}}", query: "select current_user as who"}}
- database.query: {{url: "{bare}", password: "wrong-{{{{ pw }}}}", query: "select 1"}}
  ignore_errors: true
- database.query: {{url: "{bare}", password: "{{{{ pw }}}}", query: "select pg_sleep(20)"}}
  timeout: 1
"""
        ),
        "-e",
        json.dumps({"pw": postgres.password}),
    )
    ok, refused = results(events, "database.query")[:2]
    assert ok["rows"] == [{"who": "postgres"}]
    assert refused["failed"] is True
    assert 'password authentication failed for user "postgres"' in refused["msg"]
    slow = results(events, "database.query")[2]  # cancelled by the server at the task's timeout
    assert slow["timed_out"] is True
    assert slow["msg"].endswith("canceling statement due to statement timeout")
    assert postgres.password not in result.output


def test_postgres_migrate_is_transactional_per_file(corral_project, postgres: PostgresServer):
    url = postgres.create_database("migrated")
    _write_migrations(
        corral_project,
        {
            "001_init.sql": "create table items (id serial primary key, label text);\n"
            "insert into items (label) values ('50% off'), ('a:b');\n",
            "002_fn.sql": "create function one() returns int language sql as $$ select 1; $$;\n",
            "003_broken.sql": "create table later (id int);\nselect nonsense_column from items;\n",
        },
    )
    task = play(f'- database.migrate: {{url: "{url}", path: migrations, table: public.history}}')
    result, events = run(corral_project, task)
    assert result.exit_code == 2
    (failed,) = results(events, "database.migrate")
    assert failed["applied"] == ["001_init.sql", "002_fn.sql"]
    assert failed["failed_migration"] == "003_broken.sql"
    assert postgres.sql("select to_regclass('later') is null", "migrated") == [(True,)]
    assert postgres.sql("select label from items order by id", "migrated") == [
        ("50% off",),
        ("a:b",),
    ]
    assert postgres.sql("select version from history order by version", "migrated") == [(1,), (2,)]

    _write_migrations(corral_project, {"003_broken.sql": "create table later (id int);\n"})
    result, events = run(corral_project, task)
    assert result.exit_code == 0, result.output
    assert results(events, "database.migrate")[0]["applied"] == ["003_broken.sql"]


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_postgres_backup_and_restore_with_pg_tools(
    corral_project, tmp_path, postgres: PostgresServer, fmt
):
    url = postgres.create_database(f"dr_{fmt}")
    postgres.sql("create table orders (id int primary key, total numeric)", f"dr_{fmt}")
    postgres.sql("insert into orders values (1, 10), (2, 20)", f"dr_{fmt}")
    dump = tmp_path / f"orders.{fmt}"
    common = f'url: "{url}", format: {fmt}, bin_dir: "{postgres.bin_dir}"'
    result, events = run(corral_project, play(f'- database.backup: {{{common}, dest: "{dump}"}}'))
    assert result.exit_code == 0, result.output
    (backed,) = results(events, "database.backup")
    assert backed["changed"] is True
    assert backed["size"] == dump.stat().st_size > 0

    postgres.sql("drop table orders", f"dr_{fmt}")
    result, events = run(corral_project, play(f'- database.restore: {{{common}, src: "{dump}"}}'))
    assert result.exit_code == 0, result.output
    assert postgres.sql("select id, total from orders order by id", f"dr_{fmt}") == [
        (1, 10),
        (2, 20),
    ]
    assert postgres.password not in result.output


def test_postgres_restore_failure_is_one_line_and_keeps_the_database(
    corral_project, tmp_path, postgres: PostgresServer
):
    url = postgres.create_database("keep")
    postgres.sql("create table t (id int)", "keep")
    (tmp_path / "bad.dump").write_bytes(b"this is not an archive")
    result, events = run(
        corral_project,
        play(
            f'- database.restore: {{url: "{url}", src: "{tmp_path / "bad.dump"}",'
            f' bin_dir: "{postgres.bin_dir}"}}'
        ),
    )
    assert result.exit_code == 2
    (failed,) = results(events, "database.restore")
    assert failed["msg"].startswith("pg_restore failed: ")
    assert postgres.sql("select to_regclass('t') is not null", "keep") == [(True,)]


# -- what corral check and corral plugins see ------------------------------------------


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            "database.query: {url: 'sqlite://', query: 'select 1', parms: {}}",
            "unknown argument 'parms'",
        ),
        ("database.execute: {url: 'sqlite://', statements: 'select 1'}", "argument 'statements'"),
        ("database.migrate: {url: 'sqlite://'}", "'path' is a required property"),
        ("database.backup: {url: 'sqlite://', dest: /x, format: zip}", "argument 'format'"),
    ],
)
def test_check_reports_wrong_arguments_with_file_and_line(corral_project, task, message):
    corral_project.write(
        "site.yml", f"- hosts: localhost\n  tasks:\n    - name: one\n      {task}\n"
    )
    result = corral_project.run("check", "site.yml")
    assert result.exit_code == 4
    assert "site.yml:4:" in result.stderr
    assert message in result.stderr


def test_plugins_lists_the_database_steps(corral_project):
    result = corral_project.run("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["database"]["steps"] == [
        "database.backup", "database.execute", "database.migrate", "database.query",
        "database.restore",
    ]  # fmt: skip


@pytest.mark.parametrize("step", _steps(), ids=lambda s: s.name)
def test_schema_and_docs_describe_every_argument(step: StepType):
    Draft202012Validator.check_schema(step.schema)
    assert step.schema["additionalProperties"] is False
    text = DOCS.read_text()
    assert f"## {step.name}" in text
    for name, prop in step.schema["properties"].items():
        assert prop.get("description"), f"{step.name}.{name} has no description"
        assert f"| `{name}`" in text
        assert prop["description"] in text, f"docs: {step.name}.{name}'s description is stale"


# -- pure parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("001_create_users.sql", (1, "create_users")),
        ("V2__add_index.sql", (2, "add_index")),
        ("20240601120000-backfill.sql", (20240601120000, "backfill")),
        ("3.sql", (3, "")),
        ("init.sql", None),
        ("1_a.sql.bak", None),
    ],
)
def test_parse_migration_name(name, parsed):
    assert parse_migration_name(name) == parsed


def test_split_sqlite_script_respects_strings_comments_and_triggers():
    script = (
        "create table t (v text); -- done; really\n"
        "insert into t values ('a;b');\n"
        "create trigger x after insert on t begin select 1; select 2; end;\n"
        "/* trailing; comment */\n"
    )
    assert split_sqlite_script(script) == [
        "create table t (v text);",
        "-- done; really\ninsert into t values ('a;b');",
        "create trigger x after insert on t begin select 1; select 2; end;",
    ]


@pytest.mark.parametrize(
    ("sql", "read"),
    [("select 1", True), ("  -- c\n(SELECT 1)", True),
     ("with x as (select 1) select * from x", True), ("insert into t values (1)", False),
     ("/* select */ delete from t", False), ("", False)],
)  # fmt: skip
def test_reads_only(sql, read):
    assert reads_only(sql) is read


def test_plain_values_are_json_data():
    import datetime
    import decimal

    row = [
        decimal.Decimal("2"),
        decimal.Decimal("2.5"),
        datetime.date(2024, 2, 29),
        b"\x00\xff",
        (1, "a"),
    ]
    assert [plain_value(v) for v in row] == [2, 2.5, "2024-02-29", "00ff", [1, "a"]]


def test_urls_are_shown_and_passed_on_without_their_password():
    target = parse_target(
        {"url": "postgresql+psycopg://app:p%40ss@db1:5433/app?host=/run/pg&sslmode=require"}
    )
    assert (
        target.shown == "postgresql+psycopg://app:***@db1:5433/app?host=%2Frun%2Fpg&sslmode=require"
    )
    assert target.password == "p@ss"
    assert target.scrub("boom p@ss boom") == "boom ******** boom"
    assert (
        libpq_conninfo(target)
        == "host='/run/pg' port='5433' user='app' dbname='app' sslmode='require'"
    )
    assert pgpass_line("a:b\\c") == "*:*:*:*:a\\:b\\\\c\n"

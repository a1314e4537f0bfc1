"""Step types for SQL databases, through SQLAlchemy: ``database.query``, ``database.execute``,
``database.migrate``, ``database.backup`` and ``database.restore``.

The database is named by a SQLAlchemy URL (SQLite and PostgreSQL are tested; any
dialect whose driver is installed works for query, execute and migrate). Queries
and migrations run on the controller, which connects to the URL; backup and restore
of PostgreSQL run ``pg_dump``/``pg_restore`` on the host (see
:mod:`corral_plugins.database.backup`). Values are always bound as parameters, never
pasted into SQL text, and a password in a URL never reaches results or messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl
from corral_plugins.database.backup import BACKUP_SCHEMA, RESTORE_SCHEMA, backup, restore
from corral_plugins.database.connect import (
    CONNECT_PROPERTIES,
    DEFAULT_CONNECT_TIMEOUT,
    DatabaseTarget,
    database_error,
    open_engine,
    parse_target,
    plain_value,
    reads_only,
    rolls_back_ddl,
    run_statement,
    was_cancelled,
)
from corral_plugins.database.migrate import MIGRATE_SCHEMA, migrate

__all__ = ["EXECUTE_SCHEMA", "QUERY_SCHEMA", "execute", "query"]

_PARAMS_PROPERTY: dict[str, Any] = {
    "type": "object",
    "description": "Values for the `:name` placeholders, always sent to the database as "
    "bound parameters (never pasted into the SQL).",
}

QUERY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "query"],
    "properties": {
        **CONNECT_PROPERTIES,
        "query": {
            "type": "string",
            "minLength": 1,
            "description": "One SQL statement, with `:name` placeholders for values "
            "(write `\\:` for a literal colon).",
        },
        "params": _PARAMS_PROPERTY,
    },
}

_STATEMENT_OBJECT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["sql"],
    "properties": {
        "sql": {
            "type": "string",
            "minLength": 1,
            "description": "the statement, with `:name` placeholders",
        },
        "params": _PARAMS_PROPERTY,
    },
}

EXECUTE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "statements"],
    "properties": {
        **CONNECT_PROPERTIES,
        "statements": {
            "type": "array",
            "minItems": 1,
            "items": {"oneOf": [{"type": "string", "minLength": 1}, _STATEMENT_OBJECT]},
            "description": "Statements run in order in one transaction, which is rolled back "
            "if any fails. A string runs as written; `{sql, params}` binds `params` to the "
            "`:name` placeholders in `sql`.",
        },
    },
}


# -- the steps ------------------------------------------------------------------------


def query(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run one statement with bound parameters; return its rows as a list of mappings."""
    from sqlalchemy import text

    target = parse_target(args)
    sql: str = args["query"]
    writes = not reads_only(sql)
    data: dict[str, Any] = {"url": target.shown, "query": sql}
    if ctx.check_mode and writes and not rolls_back_ddl(target):
        return StepResult(
            changed=True, msg="would run the statement (not run in check mode)", data=data
        )
    engine = _engine(ctx, target, args)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            result = conn.execute(text(sql), dict(args.get("params") or {}))
            if result.returns_rows:
                columns = list(map(str, result.keys()))
                rows = [
                    {str(k): plain_value(v) for k, v in row.items()} for row in result.mappings()
                ]
                rowcount = len(rows)
            else:
                columns, rows, rowcount = [], [], result.rowcount
            if ctx.check_mode:
                transaction.rollback()
            else:
                transaction.commit()
    except Exception as exc:
        return _failure(target, exc, data)
    finally:
        engine.dispose()
    data.update(rows=rows, rowcount=rowcount, columns=columns)
    msg = "ran and rolled back (check mode)" if ctx.check_mode else ""
    return StepResult(changed=writes and rowcount != 0, msg=msg, data=data)


def execute(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run several statements in one transaction; roll all of them back if one fails."""
    target = parse_target(args)
    statements = [_statement(item) for item in args["statements"]]
    total = len(statements)
    data: dict[str, Any] = {"url": target.shown, "statements": total}
    if ctx.check_mode and not rolls_back_ddl(target):
        return StepResult(
            changed=True, msg=f"would run {total} statements (not run in check mode)", data=data
        )
    engine = _engine(ctx, target, args)
    rowcounts: list[int] = []
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            for index, (sql, params) in enumerate(statements, 1):
                try:
                    rowcounts.append(run_statement(conn, sql, params))
                except Exception as exc:
                    transaction.rollback()
                    data["failed_statement"] = index
                    detail = database_error(target, exc)
                    return StepResult(
                        failed=True,
                        timed_out=was_cancelled(exc),
                        msg=f"statement {index} of {total} failed, so none was committed: {detail}",
                        data=data,
                    )
            if ctx.check_mode:
                transaction.rollback()
            else:
                transaction.commit()
    except Exception as exc:
        return _failure(target, exc, data)
    finally:
        engine.dispose()
    data["rowcounts"] = rowcounts
    changed = any(
        not reads_only(sql) and count != 0
        for (sql, _), count in zip(statements, rowcounts, strict=True)
    )
    msg = f"ran {total} statements in one transaction"
    if ctx.check_mode:
        msg += " and rolled it back (check mode)"
    return StepResult(changed=changed, msg=msg, data=data)


# -- shared pieces ----------------------------------------------------------------------


def _statement(item: str | Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    if isinstance(item, str):
        return item, None
    return str(item["sql"]), dict(item.get("params") or {})


def _engine(ctx: StepContext, target: DatabaseTarget, args: Mapping[str, Any]) -> Any:
    return open_engine(
        target,
        connect_timeout=float(args.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)),
        statement_timeout=ctx.timeout,
    )


def _failure(target: DatabaseTarget, exc: Exception, data: dict[str, Any]) -> StepResult:
    detail = database_error(target, exc)
    return StepResult(
        failed=True, timed_out=was_cancelled(exc), msg=f"{target.shown}: {detail}", data=data
    )


# -- registration -------------------------------------------------------------------------


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the ``database.*`` steps."""
    register(
        StepType(
            name="database.query",
            run=query,
            schema=QUERY_SCHEMA,
            check_mode=True,
            on="controller",
            description="Run one SQL statement with bound parameters and return its rows.",
        )
    )
    register(
        StepType(
            name="database.execute",
            run=execute,
            schema=EXECUTE_SCHEMA,
            check_mode=True,
            on="controller",
            description="Run SQL statements in one transaction, rolled back if one fails.",
        )
    )
    register(
        StepType(
            name="database.migrate",
            run=migrate,
            schema=MIGRATE_SCHEMA,
            check_mode=True,
            on="controller",
            description="Apply versioned .sql files, each once, recording them in a table.",
        )
    )
    register(
        StepType(
            name="database.backup",
            run=backup,
            schema=BACKUP_SCHEMA,
            check_mode=True,
            description="Back up a database: SQLite's backup API, or pg_dump on the host.",
        )
    )
    register(
        StepType(
            name="database.restore",
            run=restore,
            schema=RESTORE_SCHEMA,
            check_mode=True,
            description="Restore a database from a backup: SQLite's backup API, or pg_restore.",
        )
    )

"""Reaching a database from a SQLAlchemy URL: timeouts, transactions, and a hidden password.

Shared by the ``database.*`` steps. SQLAlchemy is imported inside the functions, so
importing this module stays cheap. A URL's password is kept in the parsed URL only:
everything a user can see (results, messages) shows the URL with ``***`` instead,
and any text that came from a driver is scrubbed of the password before it is shown.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral import StepFailed
from corral.secrets import REDACTED, Secret, redact_text

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

__all__ = [
    "CONNECT_PROPERTIES",
    "DEFAULT_CONNECT_TIMEOUT",
    "DatabaseTarget",
    "database_error",
    "describe_error",
    "open_engine",
    "parse_target",
    "plain_value",
    "reads_only",
    "rolls_back_ddl",
    "run_statement",
    "was_cancelled",
]

DEFAULT_CONNECT_TIMEOUT = 10.0

# Statements whose first word says they only read (``changed`` stays false).
_READ_WORDS = frozenset({"select", "with", "show", "explain", "values", "table", "describe"})
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)

CONNECT_PROPERTIES: dict[str, Any] = {
    "url": {
        "type": "string",
        "minLength": 1,
        "description": "The database, as a SQLAlchemy URL: `sqlite:///data/app.db`, "
        "`postgresql+psycopg://app@db1:5432/app`. A password in it is never shown "
        "(results and messages print `***`).",
    },
    "password": {
        "type": "string",
        "description": "The password for the URL's user, kept out of the URL (e.g. from "
        "a `secret: true` param). Overrides a password in `url`.",
    },
    "connect_timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": DEFAULT_CONNECT_TIMEOUT,
        "description": "Seconds to wait for the connection (for SQLite: for a lock "
        "held by another writer).",
    },
}


@dataclass(frozen=True)
class DatabaseTarget:
    """A parsed database URL: the real one for the driver, a masked one for people."""

    url: URL
    shown: str
    password: str | None

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql``, ``mysql``, ..."""
        return str(self.url.get_backend_name())

    def scrub(self, text: str) -> str:
        """``text`` with the password replaced by ``********``."""
        return redact_text(text, (self.password,)) if self.password else text


def parse_target(args: Mapping[str, Any]) -> DatabaseTarget:
    """Parse ``args["url"]`` (plus ``args["password"]``); raise StepFailed on a bad URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = _reveal(args["url"])
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        # The message names no part of the URL, so the password cannot leak here.
        raise StepFailed(
            "invalid database URL: not in the form dialect+driver://user@host/database",
            hint="e.g. sqlite:///path/app.db or postgresql+psycopg://app@db1/app",
        ) from exc
    if args.get("password") is not None:
        url = url.set(password=_reveal(args["password"]))
    password = url.password if isinstance(url.password, str) and url.password else None
    return DatabaseTarget(
        url=url, shown=url.render_as_string(hide_password=True), password=password
    )


def _reveal(value: Any) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value)


def open_engine(
    target: DatabaseTarget,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    begin: str = "BEGIN",
) -> Engine:
    """An engine with no pool (each step connects and disconnects) and timeouts set.

    SQLite connections emit ``begin`` themselves, so that DDL is transactional
    too (Python's sqlite3 would otherwise commit a ``CREATE TABLE`` at once).
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        engine = create_engine(
            target.url,
            poolclass=NullPool,
            connect_args=_connect_args(target, connect_timeout, statement_timeout),
        )
    except NoSuchModuleError as exc:
        raise StepFailed(
            f"{target.shown}: unknown database dialect or driver {target.url.drivername!r}",
            hint="use sqlite, postgresql+psycopg, or a dialect whose driver is installed",
        ) from exc
    except (ImportError, ArgumentError) as exc:
        raise StepFailed(
            f"{target.shown}: the driver for {target.url.drivername!r} cannot be used: "
            f"{target.scrub(str(exc))}",
            hint="install the driver's Python package in corral's environment",
        ) from exc
    if target.dialect == "sqlite":

        @event.listens_for(engine, "connect")
        def _manual_transactions(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None
            if statement_timeout is not None:
                # SQLite has no statement timeout: abort the work in progress at the deadline.
                deadline = time.monotonic() + statement_timeout
                dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

    return engine


def _connect_args(
    target: DatabaseTarget, connect_timeout: float, statement_timeout: float | None
) -> dict[str, Any]:
    """Driver options that bound how long connecting and each statement may take."""
    driver = target.url.get_driver_name()
    if target.dialect == "sqlite":
        return {"timeout": connect_timeout}
    if target.dialect == "postgresql" and driver in ("psycopg", "psycopg2"):
        out: dict[str, Any] = {
            "connect_timeout": max(1, math.ceil(connect_timeout)),
            # A server that vanishes mid-query is noticed instead of waited on forever.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
        if statement_timeout is not None:
            out["options"] = f"-c statement_timeout={max(1, int(statement_timeout * 1000))}"
        return out
    if target.dialect in ("mysql", "mariadb") and driver in ("pymysql", "mysqldb"):
        out = {"connect_timeout": max(1, math.ceil(connect_timeout))}
        if statement_timeout is not None:
            out["read_timeout"] = out["write_timeout"] = max(1, math.ceil(statement_timeout))
        return out
    return {}


def describe_error(target: DatabaseTarget, exc: BaseException) -> str:
    """One line about a database error: the driver's own message, password scrubbed.

    SQLAlchemy's text would add the statement and its bound parameters, which may
    hold secrets; the driver's message (``exc.orig``) does not.
    """
    from sqlalchemy.exc import DBAPIError

    source: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        source = exc.orig
    lines = [line.strip() for line in str(source).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(source).__name__
    if was_cancelled(exc) and type(source).__module__ == "sqlite3":
        text = "interrupted at the task's timeout"
    return target.scrub(text)


def database_error(target: DatabaseTarget, exc: Exception) -> str:
    """The one-line reason for a database failure; anything else is a bug and re-raised."""
    if isinstance(exc, StepFailed):
        raise exc
    from sqlalchemy.exc import SQLAlchemyError

    # Statements run as written go through the driver's cursor, whose errors are its own.
    if isinstance(exc, SQLAlchemyError) or _is_driver_error(exc):
        return describe_error(target, exc)
    raise exc


def _is_driver_error(exc: Exception) -> bool:
    module = type(exc).__module__.split(".")[0]
    return module in ("sqlite3", "psycopg", "psycopg2", "pymysql", "MySQLdb")


def run_statement(conn: Any, sql: str, params: Mapping[str, Any] | None) -> int:
    """Run one statement on ``conn`` (a SQLAlchemy connection); return its row count.

    With ``params``, ``:name`` placeholders are bound. Without, the SQL goes to the
    driver exactly as written: ``%`` and ``:`` are literal, as in a ``.sql`` file.
    """
    from sqlalchemy import text

    if params is not None:
        return int(conn.execute(text(sql), dict(params)).rowcount)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def was_cancelled(exc: BaseException) -> bool:
    """Whether the statement was stopped at its timeout (PostgreSQL's SQLSTATE 57014, or
    SQLite's progress handler)."""
    source = getattr(exc, "orig", None) or exc
    if type(source).__module__ == "sqlite3":
        return str(source) == "interrupted"
    return getattr(source, "sqlstate", None) == "57014"


def rolls_back_ddl(target: DatabaseTarget) -> bool:
    """Whether a rolled-back transaction also undoes ``CREATE``/``ALTER`` (check mode uses this)."""
    return target.dialect in ("sqlite", "postgresql")


def reads_only(sql: str) -> bool:
    """Whether ``sql`` starts with a word of a statement that only reads (``select``, ...)."""
    rest = _LEADING_NOISE.sub("", sql, count=1)
    first = re.match(r"[A-Za-z]+", rest)
    return first is not None and first.group(0).lower() in _READ_WORDS


def plain_value(value: Any) -> Any:
    """A column value as plain JSON data: numbers, text, lists and mappings.

    Dates and times become ISO 8601 text, exact decimals an int or a float,
    bytes their hex text, intervals seconds; anything else its ``str``.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    for kind, convert in _CONVERTERS:
        if isinstance(value, kind):
            return convert(value)
    return str(value)


def _decimal(value: decimal.Decimal) -> int | float:
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return float(value)


_CONVERTERS: tuple[tuple[type | tuple[type, ...], Callable[[Any], Any]], ...] = (
    (decimal.Decimal, _decimal),
    ((datetime.datetime, datetime.date, datetime.time), lambda v: v.isoformat()),
    (datetime.timedelta, lambda v: v.total_seconds()),
    ((bytes, bytearray, memoryview), lambda v: bytes(v).hex()),
    (Secret, lambda v: REDACTED),
)

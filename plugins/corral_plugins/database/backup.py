"""The ``database.backup`` and ``database.restore`` steps.

SQLite goes through its online backup API (a consistent copy while writers keep
writing), on the controller, where every ``database.*`` step opens SQLite files.
PostgreSQL goes through ``pg_dump``/``pg_restore`` (``psql`` for plain SQL dumps) run
on the host through its connection, so the dump is written where the database
runs. Their connection settings are passed as a libpq connection string; the
password goes into a ``PGPASSFILE`` readable only by the user running the tool,
removed afterwards, and never onto a command line.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from corral import StepContext, StepFailed, StepResult
from corral_plugins.database.connect import (
    CONNECT_PROPERTIES,
    DEFAULT_CONNECT_TIMEOUT,
    DatabaseTarget,
    parse_target,
)

__all__ = ["BACKUP_SCHEMA", "RESTORE_SCHEMA", "backup", "libpq_conninfo", "pgpass_line", "restore"]

# pg_dump of a large database takes long; a task's ``timeout:`` overrides this.
DEFAULT_TOOL_TIMEOUT = 3600.0
FORMATS = ("custom", "plain", "tar", "directory")

_PG_PROPERTIES: dict[str, Any] = {
    "format": {
        "enum": list(FORMATS),
        "default": "custom",
        "description": "PostgreSQL dump format: `custom` (compressed, for pg_restore), "
        "`plain` (SQL text, restored with psql), `tar` or `directory`. Ignored for SQLite.",
    },
    "bin_dir": {
        "type": "string",
        "description": "Directory of pg_dump, pg_restore and psql on the host, e.g. "
        "`/usr/lib/postgresql/15/bin`; by default they are found on the host's PATH.",
    },
    "extra_args": {
        "type": "array",
        "items": {"type": "string"},
        "description": 'More options for pg_dump / pg_restore, e.g. `["--schema=app"]`.',
    },
}

BACKUP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "dest"],
    "properties": {
        **CONNECT_PROPERTIES,
        "dest": {
            "type": "string",
            "minLength": 1,
            "description": "Where to write the backup: for PostgreSQL a path on the host "
            "(pg_dump runs there), for SQLite a path on the controller. Replaced if it exists.",
        },
        **_PG_PROPERTIES,
    },
}

RESTORE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "src"],
    "properties": {
        **CONNECT_PROPERTIES,
        "src": {
            "type": "string",
            "minLength": 1,
            "description": "The backup to restore: for PostgreSQL a path on the host, "
            "for SQLite a path on the controller.",
        },
        **_PG_PROPERTIES,
        "clean": {
            "type": "boolean",
            "default": True,
            "description": "PostgreSQL: drop each object before recreating it "
            "(`pg_restore --clean --if-exists`); not used for `plain` dumps.",
        },
        "single_transaction": {
            "type": "boolean",
            "default": True,
            "description": "PostgreSQL: restore in one transaction, so a failure leaves "
            "the database as it was.",
        },
        "no_owner": {
            "type": "boolean",
            "default": False,
            "description": "PostgreSQL: do not set object owners as in the dump "
            "(`--no-owner`), for restoring as another role.",
        },
    },
}


# -- the steps ------------------------------------------------------------------------


def backup(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Back up the database at ``url`` to ``dest``."""
    target = parse_target(args)
    if target.dialect == "sqlite":
        return _sqlite_backup(ctx, target, str(args["dest"]))
    if target.dialect == "postgresql":
        return _pg_backup(ctx, target, args)
    return _unsupported(target)


def restore(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Replace the content of the database at ``url`` with the backup ``src``."""
    target = parse_target(args)
    if target.dialect == "sqlite":
        return _sqlite_restore(ctx, target, str(args["src"]))
    if target.dialect == "postgresql":
        return _pg_restore(ctx, target, args)
    return _unsupported(target)


def _unsupported(target: DatabaseTarget) -> StepResult:
    return StepResult(
        failed=True,
        msg=f"{target.shown}: backup and restore work for sqlite and postgresql only",
    )


# -- SQLite -----------------------------------------------------------------------------


def _sqlite_file(target: DatabaseTarget) -> str:
    path = target.url.database
    if not path or path == ":memory:":
        raise StepFailed(
            f"{target.shown}: an in-memory SQLite database has no file to back up or restore"
        )
    return path


def _sqlite_backup(ctx: StepContext, target: DatabaseTarget, dest: str) -> StepResult:
    source = _sqlite_file(target)
    data: dict[str, Any] = {"url": target.shown, "dest": dest, "format": "sqlite"}
    if not os.path.isfile(source):
        return StepResult(
            failed=True, msg=f"{target.shown}: the database file does not exist", data=data
        )
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"would back up {target.shown} to {dest}", data=data)
    directory = os.path.dirname(os.path.abspath(dest))
    try:
        fd, partial = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(dest)}.")
    except OSError as exc:
        return StepResult(failed=True, msg=f"cannot write {dest}: {exc.strerror}", data=data)
    os.close(fd)
    try:
        _sqlite_copy(_sqlite_uri(source, "ro"), partial)
        os.replace(partial, dest)
    except (sqlite3.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        return StepResult(failed=True, msg=f"backup of {target.shown} failed: {exc}", data=data)
    data["size"] = os.path.getsize(dest)
    return StepResult(changed=True, msg=f"backed up to {dest}", data=data)


def _sqlite_restore(ctx: StepContext, target: DatabaseTarget, src: str) -> StepResult:
    dest = _sqlite_file(target)
    data: dict[str, Any] = {"url": target.shown, "src": src, "format": "sqlite"}
    try:
        _sqlite_check(src)
    except (sqlite3.Error, OSError) as exc:
        return StepResult(failed=True, msg=f"{src} is not a usable SQLite backup: {exc}", data=data)
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"would restore {target.shown} from {src}", data=data)
    try:
        _sqlite_copy(_sqlite_uri(src, "ro"), dest)
    except sqlite3.Error as exc:
        return StepResult(failed=True, msg=f"restore of {target.shown} failed: {exc}", data=data)
    return StepResult(changed=True, msg=f"restored from {src}", data=data)


def _sqlite_uri(path: str, mode: str) -> str:
    return f"file:{quote(os.path.abspath(path))}?mode={mode}"


def _sqlite_copy(source_uri: str, dest: str) -> None:
    """Copy a database page by page with SQLite's backup API; ``dest`` ends up identical."""
    source = sqlite3.connect(source_uri, uri=True, timeout=DEFAULT_CONNECT_TIMEOUT)
    try:
        target = sqlite3.connect(dest, timeout=DEFAULT_CONNECT_TIMEOUT)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _sqlite_check(path: str) -> None:
    """Raise unless ``path`` is an SQLite database that passes ``quick_check``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "no such file")
    conn = sqlite3.connect(_sqlite_uri(path, "ro"), uri=True, timeout=DEFAULT_CONNECT_TIMEOUT)
    try:
        verdict = conn.execute("pragma quick_check").fetchone()
    finally:
        conn.close()
    if verdict is None or verdict[0] != "ok":
        raise sqlite3.DatabaseError(f"quick_check says {verdict[0] if verdict else 'nothing'}")


# -- PostgreSQL ------------------------------------------------------------------------------


def libpq_conninfo(target: DatabaseTarget) -> str:
    """The URL as a libpq ``key=value`` connection string, without the password.

    Query parameters of the URL (``host=/run/postgresql``, ``sslmode=require``) are
    libpq parameters for psycopg too, so they pass through unchanged.
    """
    url = target.url
    parts: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "dbname": url.database,
    }
    for key, option in url.query.items():
        if key != "password":
            parts[key] = option if isinstance(option, str) else option[-1]
    pairs = [(key, str(value)) for key, value in parts.items() if value]
    return " ".join(f"{key}={_quote_conninfo(value)}" for key, value in pairs)


def _quote_conninfo(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def pgpass_line(password: str) -> str:
    """A ``.pgpass`` line that gives ``password`` for any server, database and user."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


def _pg_backup(ctx: StepContext, target: DatabaseTarget, args: Mapping[str, Any]) -> StepResult:
    dest = str(args["dest"])
    fmt = str(args.get("format", "custom"))
    data: dict[str, Any] = {"url": target.shown, "dest": dest, "format": fmt}
    if ctx.check_mode:
        return StepResult(
            changed=True, msg=f"would run pg_dump of {target.shown} to {dest}", data=data
        )
    argv = [
        _tool(args, "pg_dump"),
        "--no-password",
        f"--format={fmt}",
        f"--file={dest}",
        *args.get("extra_args", ()),
        f"--dbname={libpq_conninfo(target)}",
    ]
    failed = _run_pg_tool(ctx, target, args, argv)
    if failed is not None:
        failed.data.update(data)
        return failed
    written = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    if written is not None and written.is_file:
        data["size"] = written.size
    return StepResult(changed=True, msg=f"dumped to {dest}", data=data)


def _pg_restore(ctx: StepContext, target: DatabaseTarget, args: Mapping[str, Any]) -> StepResult:
    src = str(args["src"])
    fmt = str(args.get("format", "custom"))
    data: dict[str, Any] = {"url": target.shown, "src": src, "format": fmt}
    if ctx.conn.stat(src, become=ctx.become, timeout=ctx.timeout) is None:
        return StepResult(failed=True, msg=f"backup {src} not found on {ctx.host}", data=data)
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"would restore {target.shown} from {src}", data=data)
    failed = _run_pg_tool(ctx, target, args, _restore_argv(target, args, src, fmt))
    if failed is not None:
        failed.data.update(data)
        return failed
    return StepResult(changed=True, msg=f"restored from {src}", data=data)


def _restore_argv(target: DatabaseTarget, args: Mapping[str, Any], src: str, fmt: str) -> list[str]:
    conninfo = f"--dbname={libpq_conninfo(target)}"
    single = ["--single-transaction"] if args.get("single_transaction", True) else []
    extra = list(args.get("extra_args", ()))
    if fmt == "plain":
        return [_tool(args, "psql"), "--no-password", "--quiet", "--set=ON_ERROR_STOP=1", *single,
                f"--file={src}", *extra, conninfo]  # fmt: skip
    return [
        _tool(args, "pg_restore"),
        "--no-password",
        "--exit-on-error",
        f"--format={fmt}",
        *(["--clean", "--if-exists"] if args.get("clean", True) else []),
        *(["--no-owner"] if args.get("no_owner") else []),
        *single,
        *extra,
        conninfo,
        src,
    ]


def _tool(args: Mapping[str, Any], name: str) -> str:
    bin_dir = args.get("bin_dir")
    return posixpath.join(str(bin_dir), name) if bin_dir else name


def _run_pg_tool(
    ctx: StepContext, target: DatabaseTarget, args: Mapping[str, Any], argv: Sequence[str]
) -> StepResult | None:
    """Run a PostgreSQL client on the host, with the password in a private PGPASSFILE."""
    timeout = ctx.timeout or DEFAULT_TOOL_TIMEOUT
    connect = float(args.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    env = {**ctx.env, "PGCONNECT_TIMEOUT": str(max(2, round(connect)))}
    passfile = _write_passfile(ctx, target.password) if target.password else None
    if passfile is not None:
        env["PGPASSFILE"] = passfile
    try:
        result = ctx.conn.run(list(argv), env=env, timeout=timeout, become=ctx.become)
    finally:
        if passfile is not None:
            ctx.conn.run(["rm", "-f", "--", passfile], timeout=30, become=ctx.become)
    if result.timed_out:
        tool = posixpath.basename(argv[0])
        return StepResult(failed=True, timed_out=True, msg=f"{tool} timed out after {timeout:g} s")
    if result.rc != 0:
        stderr = target.scrub(result.stderr.strip())
        first = stderr.splitlines()[0] if stderr else f"exit status {result.rc}"
        tool = posixpath.basename(argv[0])
        return StepResult(failed=True, msg=f"{tool} failed: {first}", rc=result.rc, stderr=stderr)
    return None


def _write_passfile(ctx: StepContext, password: str) -> str:
    """A new file only the tool's user can read, holding the password in .pgpass form."""
    made = ctx.conn.run(["mktemp"], timeout=30, become=ctx.become)
    if made.rc != 0 or not made.stdout.strip():
        raise StepFailed(f"cannot make a temporary file on {ctx.host}: {made.stderr.strip()}")
    path = made.stdout.strip()
    ctx.conn.put(pgpass_line(password).encode(), path, mode=0o600, become=ctx.become, timeout=30)
    return path

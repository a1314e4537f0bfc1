"""A real PostgreSQL server for the tests, started from a temp dir once per test module.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres``
system user (or ``nobody``) through ``runuser``. Connections over TCP need the
superuser's password (scram-sha-256); the password has characters that need
escaping in URLs and in ``.pgpass`` files, so those paths are exercised too.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import need

PASSWORD = "s3cret:p@ss/w'rd\\x"


@dataclass
class PostgresServer:
    """A running server: where it listens, its binaries, and how to reach it."""

    port: int
    bin_dir: Path
    base: Path
    password: str = PASSWORD

    def url(self, database: str = "postgres", *, with_password: bool = True) -> str:
        """A SQLAlchemy URL for ``database`` as the superuser."""
        secret = f":{quote(self.password, safe='')}" if with_password else ""
        return f"postgresql+psycopg://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        """A psycopg connection in autocommit mode, independent of corral's code."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password=self.password,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )

    def sql(self, query: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run ``query`` and return its rows (empty for statements without rows)."""
        with self.connect(database) as conn, conn.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall()) if cursor.description else []

    def create_database(self, name: str) -> str:
        """A fresh empty database; returns its URL."""
        self.sql(f'drop database if exists "{name}"')
        self.sql(f'create database "{name}"')
        return self.url(name)


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin``, else the directory of ``initdb`` on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def start_postgres(bin_dir: Path) -> tuple[PostgresServer, str | None]:
    """Initialise and start a server in a new temp dir; RuntimeError with the log if it fails."""
    user: str | None = None
    if os.geteuid() == 0:
        user = "postgres" if _user_exists("postgres") else "nobody"
    base = Path(tempfile.mkdtemp(prefix="corral-pg-"))
    os.chmod(base, 0o755)
    (base / "pwfile").write_text(PASSWORD + "\n")
    if user:
        record = pwd.getpwnam(user)
        for path in (base, base / "pwfile"):
            os.chown(path, record.pw_uid, record.pw_gid)
    try:
        return _init_and_start(bin_dir, base, user), user
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _init_and_start(bin_dir: Path, base: Path, user: str | None) -> PostgresServer:
    data, log = base / "data", base / "server.log"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
              "--auth-host=scram-sha-256", f"--pwfile={base / 'pwfile'}", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync"]  # fmt: skip
    _run(_as_user(initdb, user), base, 60)
    port = _free_port()
    options = (
        f"-k {base} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    start = [
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-w",
        "-t",
        "30",
        "-o",
        options,
        "start",
    ]
    _run(_as_user(start, user), base, 60)
    return PostgresServer(port=port, bin_dir=bin_dir, base=base)


def stop_postgres(server: PostgresServer, user: str | None) -> None:
    """Stop the server (fast shutdown; SIGKILL to its PID if that fails) and remove its files."""
    data = server.base / "data"
    stop = [str(server.bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "10", "stop"]
    try:
        subprocess.run(
            _as_user(stop, user), capture_output=True, timeout=30, check=True, cwd=server.base
        )
    except (subprocess.SubprocessError, OSError):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(server.base, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _run(argv: list[str], cwd: Path, timeout: float) -> None:
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
    )
    if proc.returncode != 0:
        log = cwd / "server.log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this module; skipped locally (failed under CI) if it cannot start."""
    bin_dir = find_bin_dir()
    need(
        bin_dir is not None, "PostgreSQL server binaries not found (apt-get install postgresql-15)"
    )
    assert bin_dir is not None
    need(
        os.geteuid() != 0 or shutil.which("runuser") is not None,
        "runuser is needed to run initdb as root",
    )
    try:
        server, user = start_postgres(bin_dir)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        need(False, f"PostgreSQL did not start: {exc}")
        raise
    try:
        yield server
    finally:
        stop_postgres(server, user)

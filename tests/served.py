"""A real ``corral serve`` on a loopback port, for the server's tests.

The ``served`` fixture is a project to serve (with a local inventory); its server and
any worker it left running are stopped after the test. ``tests/conftest.py`` loads this
module as a pytest plugin.

:class:`Served` runs the server as a subprocess in a temporary project (its own
``CORRAL_HOME``), waits for ``/healthz``, and talks to it with httpx. Tokens are made
with the real ``corral token create``. Waits are bounded polls, never fixed sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sshd import free_port

from corral.testing import CorralProject

LOCAL_INVENTORY = "localhost ansible_connection=local ansible_python_interpreter=python3\n"


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


@dataclass
class Served:
    """A project served by ``corral serve`` in a subprocess."""

    project: CorralProject
    port: int = field(default_factory=lambda: free_port("127.0.0.1"))
    process: subprocess.Popen[str] | None = None
    log: Path | None = None
    scheme: str = "http"
    verify: ssl.SSLContext | bool = True  # for https: a context trusting the test CA

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "NO_COLOR": "1", **self.project.env}

    def start(self, *args: str) -> Served:
        self.log = self.project.path.parent / f"serve-{time.monotonic_ns()}.log"
        with self.log.open("w") as output:  # the child keeps its own descriptor
            self.process = self._popen(args, output)
        wait_for(self._healthy, 60, f"corral serve on {self.url}; log: {self.output()}")
        return self

    def start_tls(self, directory: Path, *args: str) -> Served:
        """Start on TLS, with a certificate for 127.0.0.1 from a test CA made in ``directory``
        (which :attr:`verify` then trusts)."""
        import trustme

        authority = trustme.CA()
        cert = authority.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
        cert.private_key_pem.write_to_path(str(directory / "server.key"))
        authority.cert_pem.write_to_path(str(directory / "ca.pem"))
        self.scheme = "https"
        self.verify = ssl.create_default_context(cafile=str(directory / "ca.pem"))
        tls = (
            "--tls-cert",
            str(directory / "server.pem"),
            "--tls-key",
            str(directory / "server.key"),
        )
        return self.start(*tls, *args)

    def _popen(self, args: tuple[str, ...], output: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "corral", "serve", "--bind", f"127.0.0.1:{self.port}", *args],
            cwd=self.project.path,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"corral serve exited {self.process.returncode}: {self.output()}")
        try:
            return (
                httpx.get(self.url + "/healthz", timeout=2, verify=self.verify).status_code == 200
            )
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return self.log.read_text() if self.log and self.log.exists() else ""

    def token(self, scope: str, name: str = "") -> str:
        result = self.project.run("token", "create", "--scope", scope, "--name", name or scope)
        assert result.exit_code == 0, result.stderr
        return next(w for w in result.stdout.split() if w.startswith("corral_"))

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, verify=self.verify)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def run_row(self, run_id: str) -> dict[str, Any]:
        from corral.store import Store

        store = Store(Path(self.project.env["CORRAL_HOME"]) / "corral.db")
        try:
            row = store.run_row(run_id)
            return dict(row) if row else {}
        finally:
            store.close()

    def wait_status(
        self, client: httpx.Client, run_id: str, wanted: set[str], timeout: float = 90
    ) -> dict[str, Any]:
        def status() -> dict[str, Any] | None:
            run = client.get(f"/api/v1/runs/{run_id}").json()["run"]
            return run if run["status"] in wanted else None

        found: dict[str, Any] = wait_for(status, timeout, f"run {run_id} to be {wanted}")
        return found


def events_of(text: str) -> list[dict[str, Any]]:
    """The server-sent events of a stream's text, as (event name, data) dicts."""
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            found.append({"event": fields.get("event"), **json.loads(fields["data"])})
    return found


@pytest.fixture
def served(corral_project: CorralProject) -> Iterator[Served]:
    """A project with a local inventory, served when the test calls ``start()``."""
    corral_project.write("inventory.ini", LOCAL_INVENTORY)
    server = Served(corral_project)
    yield server
    if server.process is not None and server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
    _kill_workers(Path(corral_project.env["CORRAL_HOME"]))


def _kill_workers(home: Path) -> None:
    """Workers still running (a test that killed its server): stop them, by their pids."""
    from corral.store import Store

    if not (home / "corral.db").exists():
        return
    store = Store(home / "corral.db")
    try:
        pids = [
            row[0] for row in store.conn.execute("SELECT pid FROM runs WHERE status = 'running'")
        ]
    finally:
        store.close()
    for pid in pids:
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGKILL)

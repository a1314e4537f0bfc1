"""The ``simulated`` connection: hosts that exist only in memory, for tests and benchmarks.

``ansible_connection=simulated`` runs a fleet of any size through the engine with no
machine behind it. Every call waits a configurable round-trip time (connecting takes
several), so the engine's scheduling and overhead can be measured at 10,000 hosts.
Commands are not run: ``echo`` prints its arguments, ``mkdir -p`` and ``install -d``
create directories, ``false`` fails, anything else succeeds with no output. Files written
with ``put`` live in the connection's memory, so ``copy``, ``template``, ``file`` and
``stat`` behave as on a real host, idempotence included. Not for real work.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat as stat_mod
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from corral import (
    MAKE_DIRS,
    Become,
    CommandResult,
    ConnectionSetting,
    ConnectionType,
    FileContent,
    FileStat,
    HostUnreachable,
    RegisterConnection,
    StepFailed,
    cooperative,
    hookimpl,
)

__all__ = ["SETTINGS", "SimulatedConnection", "connect"]

SETTINGS = (
    ConnectionSetting("corral_simulated_rtt", "seconds each call waits (one round trip)", 0.05),
    ConnectionSetting(
        "corral_simulated_connect_rtts",
        "round trips connecting takes (TCP, key exchange, login)",
        4,
    ),
    ConnectionSetting(
        "corral_simulated_unreachable",
        "make the host unreachable (true) to exercise failures",
        False,
    ),
)

_FILE_MODE = stat_mod.S_IFREG | 0o644
_DIR_MODE = stat_mod.S_IFDIR | 0o755


class SimulatedConnection:
    """A :class:`corral.Connection` to a host that exists only in memory. Thread-safe."""

    capabilities = frozenset({MAKE_DIRS})

    def __init__(
        self, host: str, *, rtt: float = 0.05, connect_rtts: int = 4, unreachable: bool = False
    ) -> None:
        self.host = host
        self.rtt = rtt
        self.connect_rtts = connect_rtts
        self.unreachable = unreachable
        self.files: dict[str, tuple[bytes, int]] = {}
        self.dirs: set[str] = {"/", "/tmp"}  # noqa: S108 - paths of the imaginary host
        self._lock = threading.Lock()

    def open(self) -> None:
        """Wait ``connect_rtts`` round trips; raise HostUnreachable when configured to."""
        self._wait(self.rtt * self.connect_rtts)
        if self.unreachable:
            raise HostUnreachable(
                f"simulated host {self.host} is unreachable (corral_simulated_unreachable)"
            )

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> SimulatedConnection:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        become: Become | None = None,
    ) -> CommandResult:
        """Pretend to run ``command`` (see the module docstring for what is understood)."""
        self._wait(self.rtt if timeout is None else min(self.rtt, timeout))
        if timeout is not None and timeout < self.rtt:
            return CommandResult(rc=-9, timed_out=True)
        argv = command.split() if isinstance(command, str) else list(command)
        name = posixpath.basename(argv[0]) if argv else ""
        if name == "echo":
            return CommandResult(rc=0, stdout=" ".join(argv[1:]) + "\n")
        if name == "false":
            return CommandResult(rc=1)
        if (name == "mkdir" and "-p" in argv) or (name == "install" and "-d" in argv):
            with self._lock:
                for path in (a for a in argv[1:] if a.startswith("/")):
                    self._make_dirs(path)
        return CommandResult(rc=0)

    def read_file(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> FileContent:
        """Not offered (no ``read_file`` capability): ``StepContext.read_file`` falls back."""
        raise NotImplementedError("the simulated connection has no read_file")

    def make_dirs(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        """Remember ``path`` and its parents as directories (one round trip, as over SFTP)."""
        self._wait(self.rtt)
        with self._lock:
            self._make_dirs(path)

    def put(
        self,
        src: bytes | Path,
        dest: str,
        *,
        mode: int | None = None,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Keep ``src`` in memory as ``dest`` (its directory must exist)."""
        self._wait(self.rtt)
        data = src if isinstance(src, bytes) else src.read_bytes()
        with self._lock:
            if posixpath.dirname(dest) not in self.dirs:
                raise StepFailed(f"cannot write {dest}: No such file or directory")
            old = self.files.get(dest)
            kept = old[1] if old is not None else 0o644
            self.files[dest] = (data, kept if mode is None else mode)

    def get(
        self, src: str, dest: Path, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        """Write the in-memory ``src`` to the local ``dest``."""
        self._wait(self.rtt)
        with self._lock:
            found = self.files.get(src)
        if found is None:
            raise StepFailed(f"cannot read {src}: No such file or directory")
        dest.write_bytes(found[0])

    def stat(
        self,
        path: str,
        *,
        checksum: bool = False,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> FileStat | None:
        """Describe an in-memory file or directory; None when there is none."""
        self._wait(self.rtt)
        path = posixpath.normpath(path)
        with self._lock:
            if path in self.dirs:
                return FileStat(
                    path=path, is_dir=True, mode=_DIR_MODE, size=4096, owner="root", group="root"
                )
            found = self.files.get(path)
        if found is None:
            return None
        data, mode = found
        digest = hashlib.sha1(data).hexdigest() if checksum else None  # noqa: S324 - Ansible's checksum
        return FileStat(
            path=path,
            is_file=True,
            mode=stat_mod.S_IFREG | mode,
            size=len(data),
            owner="root",
            group="root",
            checksum=digest,
        )

    @staticmethod
    def _wait(seconds: float) -> None:
        # On the engine's hub, other hosts' steps run meanwhile (the connection type is
        # cooperative); elsewhere a plain sleep.
        cooperative.sleep(seconds)

    def _make_dirs(self, path: str) -> None:
        path = posixpath.normpath(path)
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)


def _number(variables: Mapping[str, Any], name: str, default: float) -> float:
    value = variables.get(name)
    try:
        return default if value is None else float(value)
    except (TypeError, ValueError) as exc:
        raise HostUnreachable(f"{name} must be a number, not {value!r}") from exc


def connect(host: str, variables: Mapping[str, Any]) -> SimulatedConnection:
    """Build a simulated connection for ``host`` from its inventory variables."""
    unreachable = variables.get("corral_simulated_unreachable", False)
    if isinstance(unreachable, str):
        unreachable = unreachable.strip().lower() in ("1", "true", "yes", "on")
    return SimulatedConnection(
        host,
        rtt=_number(variables, "corral_simulated_rtt", 0.05),
        connect_rtts=int(_number(variables, "corral_simulated_connect_rtts", 4)),
        unreachable=bool(unreachable),
    )


@hookimpl
def corral_register_connections(register: RegisterConnection) -> None:
    """Register the ``simulated`` connection type (for tests and benchmarks)."""
    register(
        ConnectionType(
            name="simulated",
            connect=connect,
            settings=SETTINGS,
            description="In-memory hosts with a configurable round trip, for tests and benchmarks.",
            cooperative=True,
        )
    )

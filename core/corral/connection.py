"""The connection interface: how step code reaches a host.

A connection plugin registers a :class:`ConnectionType`, whose ``connect`` factory
turns a host's name and variables into a :class:`Connection`. The engine opens one
connection per host and reuses it for every step of the run. Step code never
builds shell lines by hand: it passes an argv list to ``run`` (or a string, which
goes through ``/bin/sh -c``).

Some features are optional. A connection declares the ones it implements in its
``capabilities`` set, and step code asks that set before using one; it never probes
for methods. The optional methods are still part of the :class:`Connection`
protocol: a connection without the capability raises ``NotImplementedError`` from
them, as pyinfra's connectors do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from corral.secrets import Secret

__all__ = [
    "CAPABILITIES",
    "GENERIC_SETTINGS",
    "MAKE_DIRS",
    "READ_FILE",
    "Become",
    "CommandResult",
    "Connection",
    "ConnectionSetting",
    "ConnectionType",
    "FileContent",
    "FileStat",
]


MAKE_DIRS = "make_dirs"
"""Capability: ``make_dirs(path, *, become, timeout)`` makes a directory and its parents
without starting a command on the host (the ssh connection does it over SFTP)."""

READ_FILE = "read_file"
"""Capability: ``read_file(path, *, become, timeout)`` describes and reads a file in one
round trip (the ssh connection over SFTP, or one command as the become user), where
``stat`` then ``get`` would take two."""

CAPABILITIES = frozenset({MAKE_DIRS, READ_FILE})
"""Every optional feature a connection may list in :attr:`Connection.capabilities`."""


@dataclass(frozen=True)
class Become:
    """Run as another user, through ``sudo`` (the only method so far)."""

    user: str = "root"
    method: str = "sudo"
    password: Secret | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandResult:
    """What a command did: exit status, decoded output, whether it timed out."""

    rc: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False


@dataclass(frozen=True)
class FileStat:
    """A path on a host, as ``stat`` sees it (symlinks not followed)."""

    path: str
    is_file: bool = False
    is_dir: bool = False
    is_link: bool = False
    mode: int = 0
    size: int = 0
    uid: int = 0
    gid: int = 0
    owner: str = ""
    group: str = ""
    mtime: float = 0.0
    link_target: str | None = None
    checksum: str | None = None  # sha1 hex, when asked for and the path is a file


@dataclass(frozen=True)
class FileContent:
    """A path read on a host, symlinks followed: where they led, what is there, its bytes.

    ``stat`` is None when nothing exists at ``path`` (the resolved path, so a step
    creates the file a dangling link names); ``data`` is empty unless it is a
    regular file.
    """

    path: str
    stat: FileStat | None
    data: bytes = b""


@runtime_checkable
class Connection(Protocol):
    """A live connection to one host. Every method that touches the host has a timeout."""

    host: str
    capabilities: frozenset[str]
    """The optional features (names from :data:`CAPABILITIES`) this connection implements;
    empty when it implements none."""

    def open(self) -> None:
        """Connect; raises :class:`corral.errors.HostUnreachable` on failure."""

    def close(self) -> None:
        """Release the connection; safe to call twice."""

    def __enter__(self) -> Connection: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

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
        """Run an argv list directly, or a string through ``/bin/sh -c``."""

    def put(
        self,
        src: bytes | Path,
        dest: str,
        *,
        mode: int | None = None,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Write ``src`` (bytes, or a local file) to ``dest`` on the host, atomically."""

    def get(
        self,
        src: str,
        dest: Path,
        *,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Copy ``src`` on the host to the local path ``dest``."""

    def stat(
        self,
        path: str,
        *,
        checksum: bool = False,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> FileStat | None:
        """Describe ``path`` on the host, or return None when it does not exist."""

    def make_dirs(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        """Make ``path`` and its missing parents, as ``mkdir -p`` does.

        Optional (capability :data:`MAKE_DIRS`): a connection whose ``capabilities``
        lack it raises ``NotImplementedError``, and callers run ``mkdir -p`` instead.
        """

    def read_file(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> FileContent:
        """Resolve ``path``'s symlinks, then describe and read what is there, in one round trip.

        Optional (capability :data:`READ_FILE`): step code calls
        :meth:`corral.StepContext.read_file`, which falls back to ``stat`` and ``get``
        for a connection without it. Raises :class:`corral.StepFailed` when the file
        cannot be read.
        """


@dataclass(frozen=True)
class ConnectionSetting:
    """One host variable a connection type reads, for docs and ``corral plugins``."""

    name: str
    description: str
    default: Any = None


# The host variables every connection type may read, whichever it is; a type lists
# only its own in ``ConnectionType.settings``. The engine renders both (they may be
# templates, ``ansible_host: "{{ ip }}"``) before it builds the connection.
GENERIC_SETTINGS: tuple[ConnectionSetting, ...] = (
    ConnectionSetting("ansible_connection", "the connection type to use", "ssh"),
    ConnectionSetting("ansible_host", "the address or name to connect to", "the inventory name"),
    ConnectionSetting("ansible_port", "the port to connect to", None),
    ConnectionSetting("ansible_user", "the user to log in or run as", None),
    ConnectionSetting("ansible_password", "the password to log in with", None),
    ConnectionSetting("ansible_become_user", "the user to become (with become)", "root"),
    ConnectionSetting("ansible_become_password", "the password sudo asks for", None),
    ConnectionSetting("ansible_become_pass", "the same, under its older name", None),
)


@dataclass(frozen=True)
class ConnectionType:
    """A kind of connection, chosen per host by ``ansible_connection``.

    ``connect(host, variables)`` builds an unopened :class:`Connection` for the
    host named ``host`` whose merged inventory variables are ``variables``.
    ``cooperative=True`` says its connections wait only through
    :mod:`corral.cooperative` (no blocking socket or sleep of their own), so the
    engine may drive many hosts' steps on one thread; otherwise each call of a
    connection that ends up there runs on a helper thread.
    """

    name: str
    connect: Callable[[str, Mapping[str, Any]], Connection]
    settings: tuple[ConnectionSetting, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = ()
    cooperative: bool = False
    plugin: str = field(default="", compare=False)

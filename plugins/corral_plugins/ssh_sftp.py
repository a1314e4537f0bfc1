"""The SFTP session of one ssh connection: atomic writes, reads, and ``stat`` with no process.

Every operation here is a few SFTP round trips and starts no process on the host, which
matters on a fleet: a command costs the server a session, a login shell and the program,
an SFTP request costs it a read. ``lstat`` reports owner and group names from the host's
``/etc/passwd`` and ``/etc/group`` (read once per connection); for an id they do not list
(LDAP users, say) it answers :data:`UNKNOWN` and the connection asks ``stat(1)`` instead.

Errors are left as paramiko and ``OSError`` raise them; the connection maps them.
"""

from __future__ import annotations

import contextlib
import posixpath
import secrets
import stat as stat_mod
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from corral import FileStat, StepFailed

if TYPE_CHECKING:
    import paramiko

__all__ = ["UNKNOWN", "SftpFiles", "parse_id_names"]

UNKNOWN: Final = object()  # lstat could not describe the path fully: ask stat(1)
_BLOCK = 1 << 20


def parse_id_names(text: str) -> dict[int, str]:
    """``name:x:id:...`` lines (``/etc/passwd``, ``/etc/group``) as {id: first name}."""
    names: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            names.setdefault(int(fields[2]), fields[0])
    return names


class SftpFiles:
    """One SFTP client and what it learned about the host; use under :attr:`lock`."""

    def __init__(self, client: paramiko.SFTPClient) -> None:
        self.client = client
        self.lock = threading.Lock()
        self._users: dict[int, str] | None = None
        self._groups: dict[int, str] | None = None

    @property
    def closed(self) -> bool:
        channel = self.client.get_channel()
        return channel is None or bool(channel.closed)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    def set_timeout(self, seconds: float) -> None:
        """Fail an operation that waits longer than ``seconds`` for the server."""
        channel = self.client.get_channel()
        if channel is not None:
            channel.settimeout(seconds)

    # -- stat --------------------------------------------------------------------------

    def lstat(self, path: str) -> FileStat | object | None:
        """Describe ``path`` without following a final symlink; None when it does not exist.

        :data:`UNKNOWN` when the path cannot be looked at (permission denied) or its owner
        or group has no name in the host's files.
        """
        try:
            attrs = self.client.lstat(path)
        except FileNotFoundError:
            return None
        except PermissionError:
            return UNKNOWN
        uid, gid, mode = attrs.st_uid or 0, attrs.st_gid or 0, attrs.st_mode or 0
        owner, group = self._names().get(uid), self._group_names().get(gid)
        if owner is None or group is None:
            return UNKNOWN
        is_link = stat_mod.S_ISLNK(mode)
        return FileStat(
            path=path,
            is_file=stat_mod.S_ISREG(mode),
            is_dir=stat_mod.S_ISDIR(mode),
            is_link=is_link,
            mode=mode,
            size=attrs.st_size or 0,
            uid=uid,
            gid=gid,
            owner=owner,
            group=group,
            mtime=float(attrs.st_mtime or 0),
            link_target=self.client.readlink(path) if is_link else None,
        )

    def _names(self) -> dict[int, str]:
        if self._users is None:
            self._users = parse_id_names(self._read_text("/etc/passwd"))
        return self._users

    def _group_names(self) -> dict[int, str]:
        if self._groups is None:
            self._groups = parse_id_names(self._read_text("/etc/group"))
        return self._groups

    def _read_text(self, path: str) -> str:
        try:
            with self.client.open(path, "r") as handle:
                return bytes(handle.read()).decode("utf-8", errors="replace")
        except OSError:
            return ""  # unreadable: every name is unknown, stat(1) answers instead

    # -- transfers ----------------------------------------------------------------------

    def put(self, src: bytes | Path, dest: str, mode: int | None) -> None:
        """Write ``src`` to a temporary file beside ``dest``, then rename it over ``dest``.

        Without ``mode`` an existing ``dest`` keeps its mode, and its owner when the user
        may set it.
        """
        client = self.client
        directory, name = posixpath.split(dest)
        temp = posixpath.join(directory, f".{name}.corral-{secrets.token_hex(4)}")
        try:
            old: Any = client.stat(dest)
        except FileNotFoundError:
            old = None
        written = False
        try:
            with client.open(temp, "wbx") as handle:
                written = True
                handle.set_pipelined(True)
                _copy_into(handle, src)
                keep = stat_mod.S_IMODE(old.st_mode) if old is not None and old.st_mode else None
                wanted = mode if mode is not None else keep
                if wanted is not None:
                    handle.chmod(wanted)
                if old is not None:
                    mine = handle.stat()
                    if (mine.st_uid, mine.st_gid) != (old.st_uid, old.st_gid):
                        with contextlib.suppress(OSError):
                            handle.chown(old.st_uid, old.st_gid)
            client.posix_rename(temp, dest)
            written = False
        finally:
            if written:
                with contextlib.suppress(Exception):
                    client.remove(temp)

    def get(self, src: str, dest: Path) -> None:
        """Copy ``src`` on the host into the local file ``dest``."""
        try:
            handle = open(dest, "wb")  # noqa: SIM115 - closed below; a local error is StepFailed
        except OSError as exc:
            raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
        with handle:
            self.client.getfo(src, handle)


def _copy_into(handle: Any, src: bytes | Path) -> None:
    if isinstance(src, bytes):
        handle.write(src)
        return
    try:
        source = open(src, "rb")  # noqa: SIM115 - closed below; a local error is StepFailed
    except OSError as exc:
        raise StepFailed(f"cannot read {src}: {exc.strerror}") from exc
    with source:
        for block in iter(lambda: source.read(_BLOCK), b""):
            handle.write(block)

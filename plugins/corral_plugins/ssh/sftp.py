"""The SFTP session of one ssh connection: atomic writes, reads, and ``stat`` with no process.

Every operation here is a few SFTP round trips and starts no process on the host, which
matters on a fleet: a command costs the server a session, a login shell and the program,
an SFTP request costs it a read. ``lstat`` reports owner and group names, asked of the
server once per id (OpenSSH's ``users-groups-by-id`` extension) or read from the host's
``/etc/passwd`` and ``/etc/group`` (once per connection) where the server is older; for an
id with no name (an LDAP user on an old server, say) it answers :data:`UNKNOWN` and the
connection asks ``stat(1)`` instead.

Errors are left as paramiko and ``OSError`` raise them; the connection maps them.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import secrets
import stat as stat_mod
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from corral import FileStat, StepFailed

if TYPE_CHECKING:
    import paramiko

__all__ = ["UNKNOWN", "SftpFiles", "parse_id_names"]

UNKNOWN: Final = object()  # lstat could not describe the path fully: ask stat(1)
_BLOCK = 1 << 20
_NAMES_BY_ID = "users-groups-by-id@openssh.com"


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
        self._users: dict[int, str | None] = {}
        self._groups: dict[int, str | None] = {}
        self._files_read = False  # /etc/passwd and /etc/group, read once if needed
        self._by_id = True  # until the server says it has no users-groups-by-id
        # Paths lstat found missing, until something may have made them: a put right after
        # (copy, template) need not ask again whether there is an old file to take after.
        self._absent: set[str] = set()

    @property
    def closed(self) -> bool:
        channel = self.client.get_channel()
        return channel is None or bool(channel.closed)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    def forget(self) -> None:
        """Forget which paths were missing: a command may have made any of them."""
        self._absent.clear()

    def set_timeout(self, seconds: float) -> None:
        """Fail an operation that waits longer than ``seconds`` for the server."""
        channel = self.client.get_channel()
        if channel is not None:
            channel.settimeout(seconds)

    # -- stat --------------------------------------------------------------------------

    def lstat(self, path: str) -> FileStat | object | None:
        """Describe ``path`` without following a final symlink; None when it does not exist.

        :data:`UNKNOWN` when the path cannot be looked at (permission denied) or its owner
        or group has no name on the host.
        """
        try:
            attrs = self.client.lstat(path)
        except FileNotFoundError:
            self._absent.add(path)
            return None
        except PermissionError:
            return UNKNOWN
        uid, gid, mode = attrs.st_uid or 0, attrs.st_gid or 0, attrs.st_mode or 0
        owner, group = self.names(uid, gid)
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

    def names(self, uid: int, gid: int) -> tuple[str | None, str | None]:
        """The user name of ``uid`` and the group name of ``gid`` on the host (None: none).

        Asked of the server once per id with OpenSSH's ``users-groups-by-id`` extension
        (sftp-server 9.1 and later): one round trip; else read from ``/etc/passwd`` and
        ``/etc/group`` once, four round trips each.
        """
        users, groups = self._users, self._groups
        if (uid not in users or gid not in groups) and not self._names_by_id(uid, gid):
            if not self._files_read:
                self._files_read = True
                users.update(parse_id_names(self._read_text("/etc/passwd")))
                groups.update(parse_id_names(self._read_text("/etc/group")))
            users.setdefault(uid, None)
            groups.setdefault(gid, None)
        return users[uid], groups[gid]

    def _names_by_id(self, uid: int, gid: int) -> bool:
        """Ask the server for the two names; False when it does not know the extension."""
        if not self._by_id:
            return False
        from paramiko.message import Message
        from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY

        ids = struct.Struct(">I")
        try:
            # paramiko has no call for extensions it does not know; _request is the one
            # its own posix_rename uses.
            kind, reply = self.client._request(  # type: ignore[attr-defined]
                CMD_EXTENDED, _NAMES_BY_ID, ids.pack(uid), ids.pack(gid)
            )
        except OSError:  # SSH_FX_OP_UNSUPPORTED: an older server
            self._by_id = False
            return False
        if kind != CMD_EXTENDED_REPLY:
            self._by_id = False
            return False
        user_names, group_names = Message(reply.get_string()), Message(reply.get_string())
        self._users[uid] = user_names.get_text() or None
        self._groups[gid] = group_names.get_text() or None
        return True

    def _read_text(self, path: str) -> str:
        try:
            with self.client.open(path, "r") as handle:
                return bytes(handle.read()).decode("utf-8", errors="replace")
        except OSError:
            return ""  # unreadable: every name is unknown, stat(1) answers instead

    # -- directories --------------------------------------------------------------------

    def make_dirs(self, path: str) -> None:
        """``mkdir -p``: make ``path`` and its missing parents; an existing directory is fine."""
        self.forget()
        missing: list[str] = []
        current = path.rstrip("/") or "/"
        while not self._make_dir(current):
            parent = posixpath.dirname(current)
            if parent in ("", current):
                raise FileNotFoundError(errno.ENOENT, "No such file or directory")
            missing.append(current)
            current = parent
        for directory in reversed(missing):
            if not self._make_dir(directory):
                raise FileNotFoundError(errno.ENOENT, f"{posixpath.dirname(directory)} vanished")

    def _make_dir(self, path: str) -> bool:
        """Make one directory; False when its parent is missing."""
        try:
            self.client.mkdir(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            # OpenSSH answers a plain "Failure" for an existing path: see what is there.
            try:
                mode = self.client.stat(path).st_mode or 0
            except OSError:
                raise exc from None
            if not stat_mod.S_ISDIR(mode):
                raise StepFailed(
                    f"cannot create directory {path}: it exists and is not a directory"
                ) from None
        return True

    # -- transfers ----------------------------------------------------------------------

    def put(self, src: bytes | Path, dest: str, mode: int | None) -> None:
        """Write ``src`` to a temporary file beside ``dest``, then rename it over ``dest``.

        Without ``mode`` an existing ``dest`` keeps its mode, and its owner when the user
        may set it.
        """
        client = self.client
        directory, name = posixpath.split(dest)
        temp = posixpath.join(directory, f".{name}.corral-{secrets.token_hex(4)}")
        old: Any = None
        if dest not in self._absent:
            with contextlib.suppress(FileNotFoundError):
                old = client.stat(dest)
        self._absent.discard(dest)
        keep = stat_mod.S_IMODE(old.st_mode) if old is not None and old.st_mode else None
        wanted = mode if mode is not None else keep
        written = False
        try:
            # Owner-only until the last byte is in: a file opened by someone else while it
            # was readable could be read to the end, whatever mode it gets afterwards.
            # Without a wanted mode the file gets the server's default, as a new file would.
            with _create(client, temp, None if wanted is None else wanted & 0o700) as handle:
                written = True
                handle.set_pipelined(True)
                _copy_into(handle, src)
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

    def read(self, path: str) -> bytes:
        """The bytes of the file ``path`` on the host."""
        with self.client.open(path, "rb") as handle:
            handle.prefetch()
            return bytes(handle.read())

    def get(self, src: str, dest: Path) -> None:
        """Copy ``src`` on the host into the local file ``dest``."""
        try:
            handle = open(dest, "wb")  # noqa: SIM115 - closed below; a local error is StepFailed
        except OSError as exc:
            raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
        with handle:
            self.client.getfo(src, handle)


def _create(client: paramiko.SFTPClient, path: str, mode: int | None) -> paramiko.SFTPFile:
    """Create ``path`` (it must not exist) for writing, with ``mode`` from the start.

    paramiko's ``open`` sends no attributes, so the server creates the file with its
    default mode (0666 less its umask); the SFTP OPEN request may carry the permissions,
    which OpenSSH's sftp-server passes to open(2). paramiko has no call for that, so this
    sends the request its ``open`` sends, with the permissions set.
    """
    from paramiko.sftp import (
        CMD_HANDLE,
        CMD_OPEN,
        SFTP_FLAG_CREATE,
        SFTP_FLAG_EXCL,
        SFTP_FLAG_TRUNC,
        SFTP_FLAG_WRITE,
        SFTPError,
    )
    from paramiko.sftp_attr import SFTPAttributes
    from paramiko.sftp_file import SFTPFile

    attributes = SFTPAttributes()
    if mode is not None:
        attributes.st_mode = mode
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
    kind, reply = client._request(CMD_OPEN, path, flags, attributes)  # type: ignore[attr-defined]
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(client, reply.get_binary(), "wbx")


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

"""Files on the controller, as corral's own process: read, atomic write, stat.

What the local connection does for ``put``, ``get`` and ``stat`` when no other user is
involved (with ``become`` to another user it goes through sudo instead).
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import shutil
import stat as stat_mod
import tempfile
from pathlib import Path

from corral import FileContent, FileStat, StepFailed


def read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror}") from exc


def read_file_local(path: str) -> FileContent:
    """``path`` with its symlinks resolved, its stat and (for a regular file) its bytes."""
    real = os.path.realpath(path)
    found = stat_local(real, False)
    if found is None or not found.is_file:
        return FileContent(real, found)
    return FileContent(real, found, read_local(Path(real)))


def put_local(src: bytes | Path, dest: str, mode: int | None) -> None:
    directory = os.path.dirname(dest) or "."
    try:
        existing: os.stat_result | None = os.stat(dest)
    except OSError:
        existing = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(dest)}.")
    except OSError as exc:
        raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(src, bytes):
                handle.write(src)
            else:
                with open(src, "rb") as source:
                    shutil.copyfileobj(source, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            mode = stat_mod.S_IMODE(existing.st_mode) if existing else 0o666 & ~umask()
        os.chmod(tmp, mode)
        if existing is not None and os.geteuid() == 0:
            os.chown(tmp, existing.st_uid, existing.st_gid)
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def umask() -> int:
    """The process umask, read without changing it (os.umask would race other threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def stat_local(path: str, checksum: bool) -> FileStat | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise StepFailed(f"cannot stat {path}: {exc.strerror}") from exc
    is_link = stat_mod.S_ISLNK(st.st_mode)
    is_file = stat_mod.S_ISREG(st.st_mode)
    return FileStat(
        path=path,
        is_file=is_file,
        is_dir=stat_mod.S_ISDIR(st.st_mode),
        is_link=is_link,
        mode=st.st_mode,
        size=st.st_size,
        uid=st.st_uid,
        gid=st.st_gid,
        owner=user_name(st.st_uid),
        group=_group_name(st.st_gid),
        mtime=st.st_mtime,
        link_target=os.readlink(path) if is_link else None,
        checksum=_sha1(path) if checksum and is_file else None,
    )


def _sha1(path: str) -> str | None:
    digest = hashlib.sha1()  # noqa: S324 - Ansible's checksum, not a security use
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None  # unreadable: no checksum, as Ansible's stat
    return digest.hexdigest()


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)

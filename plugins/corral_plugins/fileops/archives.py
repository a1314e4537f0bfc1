"""Reading archives on the controller: members of a tar (plain, gz, bz2, xz) or zip file,
checked for paths that would land outside ``dest``, and repacked as a plain tar.

``unarchive`` extracts that plain tar on the host with ``tar -x -p`` (GNU and busybox both
do), so the host needs neither ``unzip`` nor a decompressor, and what is extracted is
exactly what was checked here.
"""

from __future__ import annotations

import bz2
import fnmatch
import gzip
import hashlib
import lzma
import posixpath
import stat as stat_mod
import struct
import tarfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from corral import StepFailed

__all__ = [
    "Member",
    "UnsafeMember",
    "fingerprint",
    "handler_name",
    "read_members",
    "repack",
    "select",
]


class UnsafeMember(StepFailed):
    """A member whose path is absolute, climbs out with ``..`` or goes through a symlink."""


@dataclass(frozen=True)
class Member:
    """One archive member: its normalized path (no ``./``, no trailing ``/``) and attributes."""

    name: str
    raw: str  # the name as stored, to find it again when repacking
    kind: str  # file, dir, link (symlink), hardlink, other
    size: int
    mode: int  # permission bits
    mtime: int
    linkname: str = ""

    @property
    def listed(self) -> str:
        """The name as Ansible's ``files`` shows it (directories end with ``/``)."""
        return self.name + "/" if self.kind == "dir" else self.name


def handler_name(path: Path) -> str | None:
    """Ansible's handler name for the archive (``TgzArchive``, ``ZipArchive``), or None."""
    if zipfile.is_zipfile(path):
        return "ZipArchive"
    if tarfile.is_tarfile(path):
        return "TgzArchive"
    return None


def read_members(path: Path) -> list[Member]:
    """The members of the archive at ``path``; UnsafeMember when one would escape ``dest``."""
    members = _zip_members(path) if zipfile.is_zipfile(path) else _tar_members(path)
    links = {m.name for m in members if m.kind == "link"}
    for member in members:
        _check(member, links)
    return members


def _normal(name: str) -> str:
    return posixpath.normpath(name).lstrip("/") if name not in ("", ".", "./") else ""


def _check(member: Member, links: set[str]) -> None:
    raw = member.raw.replace("\\", "/")
    parts = raw.split("/")
    if raw.startswith("/") or ".." in parts:
        raise UnsafeMember(f"member {member.raw!r} would be extracted outside dest")
    parents = [posixpath.join(*parts[:i]) for i in range(1, len(parts))]
    through = next((p for p in parents if _normal(p) in links), None)
    if through is not None:
        raise UnsafeMember(f"member {member.raw!r} goes through the symlink {through!r}")
    if member.kind == "hardlink":
        target = member.linkname.split("/")
        if member.linkname.startswith("/") or ".." in target:
            raise UnsafeMember(f"hard link {member.raw!r} points outside dest")


def _tar_members(path: Path) -> list[Member]:
    found = []
    with tarfile.open(path, "r:*") as archive:
        for info in archive.getmembers():
            name = _normal(info.name)
            if not name:
                continue
            if info.isdir():
                kind = "dir"
            elif info.issym():
                kind = "link"
            elif info.islnk():
                kind = "hardlink"
            elif info.isreg():
                kind = "file"
            else:
                kind = "other"
            found.append(
                Member(
                    name,
                    info.name,
                    kind,
                    info.size,
                    info.mode & 0o7777,
                    int(info.mtime),
                    info.linkname,
                )
            )
    return found


def _zip_members(path: Path) -> list[Member]:
    found = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = _normal(info.filename)
            if not name:
                continue
            unix = info.external_attr >> 16
            if info.is_dir():
                kind, default = "dir", 0o755
            elif stat_mod.S_ISLNK(unix):
                kind, default = "link", 0o777
            else:
                kind, default = "file", 0o644
            mode = stat_mod.S_IMODE(unix) or default
            target = archive.read(info).decode() if kind == "link" else ""
            size = 0 if kind == "dir" else info.file_size
            mtime = _zip_mtime(info)
            found.append(Member(name, info.filename, kind, size, mode, mtime, target))
    return found


def _zip_mtime(info: zipfile.ZipInfo) -> int:
    """The exact mtime from the extended-timestamp field (as unzip uses), else the DOS time."""
    extra = info.extra
    while len(extra) >= 4:
        kind, size = struct.unpack_from("<HH", extra)
        if kind == 0x5455 and size >= 5 and extra[4] & 1:
            return int(struct.unpack_from("<i", extra, 5)[0])
        extra = extra[4 + size :]
    return int(time.mktime((*info.date_time, 0, 0, -1)))


def select(
    members: Iterable[Member], include: Sequence[str], exclude: Sequence[str]
) -> list[Member]:
    """The members ``include`` names (all when empty) and ``exclude`` does not (fnmatch)."""
    out = []
    for member in members:
        names = (member.name, member.listed, member.raw)
        if include and not any(fnmatch.fnmatch(n, p) for n in names for p in include):
            continue
        if any(fnmatch.fnmatch(n, p) for n in names for p in exclude):
            continue
        out.append(member)
    return out


def repack(path: Path, members: Sequence[Member], out: Path) -> None:
    """Write ``members`` of the archive at ``path`` to ``out`` as a plain (uncompressed) tar."""
    wanted = {m.raw for m in members}
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as target:
        if zipfile.is_zipfile(path):
            _repack_zip(path, wanted, members, target)
            return
        with tarfile.open(path, "r:*") as source:
            for info in source.getmembers():
                if info.name in wanted:
                    target.addfile(info, source.extractfile(info) if info.isreg() else None)


def _repack_zip(
    path: Path, wanted: set[str], members: Sequence[Member], target: tarfile.TarFile
) -> None:
    by_raw = {m.raw: m for m in members}
    with zipfile.ZipFile(path) as archive:
        for zinfo in archive.infolist():
            member = by_raw.get(zinfo.filename)
            if zinfo.filename not in wanted or member is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.mode, info.mtime = member.mode, member.mtime
            if member.kind == "dir":
                info.type = tarfile.DIRTYPE
                target.addfile(info)
            elif member.kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, member.linkname
                target.addfile(info)
            else:
                info.size = zinfo.file_size
                with archive.open(zinfo) as data:
                    target.addfile(info, data)


def fingerprint(path: Path, fmt: str, single: bool) -> frozenset[tuple[str, ...]]:
    """What an archive holds, for comparing two: names, kinds, content digests, link targets.

    Times and owners are left out, as community.general's archive compares content.
    """
    if single:
        return frozenset({("", _digest(_decompressed(path, fmt)))})
    if fmt == "zip":
        with zipfile.ZipFile(path) as archive:
            return frozenset(
                (_normal(i.filename), str(i.CRC), str(i.is_dir())) for i in archive.infolist()
            )
    found = set()
    with tarfile.open(path, "r:*") as archive:
        for info in archive.getmembers():
            handle = archive.extractfile(info) if info.isreg() else None
            digest = _digest(handle) if handle else ""
            found.add((_normal(info.name), str(info.type), digest, info.linkname))
    return frozenset(found)


def _decompressed(path: Path, fmt: str) -> IO[bytes]:
    if fmt == "gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a binary stream
    if fmt == "bz2":
        return bz2.open(path, "rb")
    return lzma.open(path, "rb")


def _digest(handle: IO[bytes]) -> str:
    digest = hashlib.sha1()  # noqa: S324 - a fingerprint, not security
    with handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

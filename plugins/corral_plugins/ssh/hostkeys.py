"""Host key checking for the ``ssh`` connection: known_hosts files and the three policies.

A host's key is looked up, by address and port (``[addr]:port`` when the port is not 22,
as OpenSSH writes it), in the user's known_hosts files and in corral's own
``$CORRAL_HOME/known_hosts``. Hashed names (``|1|salt|hash``), comma-separated patterns
with ``*``/``?`` wildcards and ``!`` negation, and ``@revoked`` lines are understood;
``@cert-authority`` lines are skipped (host certificates are not supported).

Policies (``host_key_checking``):

- ``strict`` (the default): the key must already be known.
- ``accept-new``: an unknown key is trusted and recorded in corral's known_hosts file.
- ``off``: an unknown key is trusted and not recorded.

Under every policy a key that differs from a recorded key of the same type, or a
revoked key, makes the host unreachable.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corral import HostUnreachable

__all__ = [
    "POLICIES",
    "KnownHosts",
    "KnownKey",
    "check_host_key",
    "fingerprint",
    "host_entry_name",
    "parse_known_hosts",
    "parse_policy",
]

POLICIES = ("strict", "accept-new", "off")

_TRUE_WORDS = frozenset({"yes", "true", "on", "1", "strict"})
_FALSE_WORDS = frozenset({"no", "false", "off", "0"})


@dataclass(frozen=True)
class KnownKey:
    """One key line of a known_hosts file."""

    patterns: str  # the host field as written: "a,b,[c]:2222" or "|1|salt|hash"
    key_type: str  # "ssh-ed25519"
    blob: str  # base64 of the public key
    where: str  # "file:line", for messages
    marker: str = ""  # "", "@revoked" or "@cert-authority"


def host_entry_name(address: str, port: int) -> str:
    """The name known_hosts uses for a host: ``addr``, or ``[addr]:port`` off port 22."""
    return address if port == 22 else f"[{address}]:{port}"


def fingerprint(blob: str) -> str:
    """OpenSSH's SHA256 fingerprint of a base64 public key."""
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_policy(value: object) -> str:
    """A ``host_key_checking`` value as one of :data:`POLICIES`; ValueError when it is none.

    Booleans are accepted as Ansible's ``host_key_checking`` is: true is ``strict``,
    false is ``off``.
    """
    if isinstance(value, bool):
        return "strict" if value else "off"
    word = str(value).strip().lower().replace("_", "-")
    if word in POLICIES:
        return word
    if word in _TRUE_WORDS:
        return "strict"
    if word in _FALSE_WORDS:
        return "off"
    raise ValueError(f"host_key_checking must be one of {', '.join(POLICIES)}, not {value!r}")


def parse_known_hosts(text: str, source: str) -> list[KnownKey]:
    """The key lines of a known_hosts file (comments, blanks and broken lines skipped)."""
    keys: list[KnownKey] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = ""
        if fields[0].startswith("@"):
            marker, fields = fields[0], fields[1:]
        if len(fields) < 3:
            continue
        keys.append(KnownKey(fields[0], fields[1], fields[2], f"{source}:{number}", marker))
    return keys


def _hashed_match(field: str, name: str) -> bool:
    """Whether ``|1|salt|hash`` is the HMAC-SHA1 of ``name``, as ``HashKnownHosts`` writes it."""
    parts = field.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except ValueError:
        return False
    actual = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(actual, expected)


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """OpenSSH's host patterns: ``*`` and ``?`` are wildcards, everything else (``[``) literal."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile("".join(parts))


def names_match(patterns: str, name: str) -> bool:
    """Whether a known_hosts host field covers ``name`` (negations win, as in OpenSSH)."""
    if patterns.startswith("|"):
        return _hashed_match(patterns, name)
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if _wildcard(pattern.lstrip("!")).fullmatch(name.lower()):
            if negated:
                return False
            matched = True
    return matched


@dataclass(frozen=True)
class _FileIndex:
    """A known_hosts file's lines: plain names in a dict, patterns and hashes in a list."""

    by_name: dict[str, list[KnownKey]]
    patterned: list[KnownKey]

    @classmethod
    def build(cls, keys: list[KnownKey]) -> _FileIndex:
        by_name: dict[str, list[KnownKey]] = {}
        patterned: list[KnownKey] = []
        for key in keys:
            if key.patterns.startswith("|") or any(c in key.patterns for c in "*?!"):
                patterned.append(key)
                continue
            for name in key.patterns.lower().split(","):
                by_name.setdefault(name, []).append(key)
        return cls(by_name, patterned)

    def lookup(self, names: Sequence[str]) -> list[KnownKey]:
        found = {id(k): k for name in names for k in self.by_name.get(name.lower(), ())}
        for key in self.patterned:
            if any(names_match(key.patterns, name) for name in names):
                found[id(key)] = key
        return list(found.values())


class KnownHosts:
    """Reads known_hosts files once per change and appends accepted keys; shared by connections.

    Thread-safe: the engine opens many connections at once. Files are indexed by host
    name, so a known_hosts of thousands of lines costs one parse, not one scan per host.
    """

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], _FileIndex]] = {}
        self._lock = threading.Lock()

    def _index(self, path: Path) -> _FileIndex | None:
        try:
            st = path.stat()
        except OSError:
            return None
        signature = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] == signature:
                return cached[1]
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return None
        index = _FileIndex.build(parse_known_hosts(text, str(path)))
        with self._lock:
            self._cache[path] = (signature, index)
        return index

    def lookup(self, files: Sequence[Path], names: Sequence[str]) -> list[KnownKey]:
        """Every key line in ``files`` whose host field covers one of ``names``."""
        found: list[KnownKey] = []
        for path in files:
            index = self._index(path)
            if index is not None:
                found += index.lookup(names)
        return found

    def add(self, path: Path, name: str, key_type: str, blob: str) -> None:
        """Append ``name key_type blob`` to ``path`` (created 0600 in a 0700 directory)."""
        line = f"{name} {key_type} {blob}\n".encode()
        with self._lock:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self._cache.pop(path, None)


def check_host_key(
    store: KnownHosts,
    *,
    label: str,
    names: Sequence[str],
    read_files: Sequence[Path],
    write_file: Path,
    key_type: str,
    blob: str,
    policy: str,
) -> str:
    """Check the key a server offered; returns how it was trusted ("known", "added", "unchecked").

    ``label`` names the host in messages; ``names`` are the known_hosts names it goes by
    (the first is the one recorded under ``accept-new``). Raises
    :class:`~corral.HostUnreachable` for a revoked or changed key, and for an unknown
    key under ``strict``.
    """
    files = [*read_files, write_file]
    known = store.lookup(files, names)
    offered = fingerprint(blob)
    for entry in known:
        if entry.marker == "@revoked" and entry.blob == blob:
            raise HostUnreachable(
                f"host key for {label} ({key_type} {offered}) is marked revoked in {entry.where}",
                hint="the server's key was revoked on purpose: do not connect until it is replaced",
            )
    plain = [entry for entry in known if not entry.marker]
    if any(entry.key_type == key_type and entry.blob == blob for entry in plain):
        return "known"
    for entry in plain:
        if entry.key_type == key_type:
            raise HostUnreachable(
                f"host key for {label} has CHANGED: the server offered {key_type} {offered}, "
                f"but {entry.where} records {fingerprint(entry.blob)} (possible man-in-the-middle)",
                hint=f"if the host was reinstalled, remove the old key with "
                f"ssh-keygen -R '{names[0]}' -f {entry.where.rsplit(':', 1)[0]} and connect again",
            )
    if policy == "strict":
        others = sorted({entry.key_type for entry in plain})
        also = f"; keys of another type are known ({', '.join(others)})" if others else ""
        raise HostUnreachable(
            f"host key for {label} is not known ({key_type} {offered}){also}",
            hint=f"check the fingerprint and add the key to {write_file} or ~/.ssh/known_hosts "
            f"(ssh-keyscan can fetch it), or set host_key_checking: accept-new for this host",
        )
    if policy == "accept-new":
        store.add(write_file, names[0], key_type, blob)
        return "added"
    return "unchecked"

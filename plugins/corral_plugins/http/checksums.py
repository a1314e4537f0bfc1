"""``get_url``'s ``checksum``: ``algorithm:hex`` or ``algorithm:URL of a checksum file``,
and the digest of a file on the host.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corral import StepContext

__all__ = ["Checksum", "file_digest", "host_digest", "parse_checksum", "parse_digest_lines"]

# The two formats Ansible reads from a checksum file, as its get_url module writes them.
_BSD_LINE = re.compile(r"^(\w+) ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$")
_GNU_LINE = re.compile(r"^(?P<digest>[\w.]+)\s+(\*|\.\/|\.)?(?P<path>.+)$")


@dataclass(frozen=True)
class Checksum:
    """The expected digest: the algorithm (a hashlib name) and the value, or a URL to read."""

    algorithm: str
    value: str

    @property
    def is_url(self) -> bool:
        return re.match(r"^(https?|ftp|file)://", self.value) is not None


def parse_checksum(text: str) -> Checksum:
    """``sha256:abc...`` to a :class:`Checksum`; ValueError naming the argument if malformed."""
    algorithm, sep, value = text.partition(":")
    if not sep or not value:
        raise ValueError("argument 'checksum' has to be in format <algorithm>:<checksum>")
    algorithm = algorithm.strip().lower()
    if algorithm not in hashlib.algorithms_available:
        raise ValueError(f"argument 'checksum': unsupported algorithm {algorithm!r}")
    checksum = Checksum(algorithm, value.strip())
    return checksum if checksum.is_url else normalized(checksum)


def normalized(checksum: Checksum) -> Checksum:
    """Ansible's clean-up of a hex digest (separators dropped, lower case); must be hex."""
    value = re.sub(r"\W+", "", checksum.value).lower()
    try:
        int(value, 16)
    except ValueError:
        raise ValueError("argument 'checksum': the checksum format is invalid") from None
    return Checksum(checksum.algorithm, value)


def parse_digest_lines(filename: str, lines: list[str]) -> list[tuple[str, str]]:
    """(digest, file name) pairs of a checksum file; one bare digest stands for ``filename``."""
    if len(lines) == 1 and len(lines[0].split()) == 1:
        return [(lines[0], filename)]
    pairs = []
    for line in lines:
        match = _BSD_LINE.match(line)
        if match:
            pairs.append((match.group("digest"), match.group("path")))
            continue
        match = _GNU_LINE.match(line)
        if match:
            pairs.append((match.group("digest"), match.group("path").lstrip("./")))
    return pairs


def file_digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def host_digest(ctx: StepContext, path: str, algorithm: str) -> str | None:
    """The digest of a file on the host: its ``<algorithm>sum`` tool, else read it here."""
    if algorithm == "sha1":
        st = ctx.conn.stat(path, checksum=True, become=ctx.become, timeout=ctx.timeout)
        return None if st is None else st.checksum
    result = ctx.conn.run([f"{algorithm}sum", "--", path], timeout=ctx.timeout, become=ctx.become)
    if result.rc == 0 and result.stdout.split():
        return result.stdout.split()[0].lower()
    with tempfile.TemporaryDirectory(prefix="corral-digest-") as tmp:
        local = Path(tmp) / "file"
        ctx.conn.get(path, local, become=ctx.become, timeout=ctx.timeout)
        return file_digest(local, algorithm)

"""The ``authorized_keys`` file as ``ansible.posix.authorized_key`` reads and rewrites it.

The file is parsed into entries keyed by the key's base64 blob; lines that are not keys
(comments, blanks, garbage) are kept as they are, keyed by the line itself, so a repeated
one appears once after a rewrite, as with Ansible. Each entry has a rank (its line
number, or, for an added key, the number of entries plus its index among the given keys)
and the file is written in rank order, with every key line re-made as
``OPTIONS TYPE BLOB COMMENT``: options joined by commas, words of the comment joined by one
space, and a trailing space when the comment is empty, byte for byte what Ansible writes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

__all__ = ["Entry", "parse_file", "parse_key", "parse_options", "serialize"]

KEY_TYPES = (
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519",
    "ssh-dss",
    "ssh-rsa",
)
# Splits options on commas that are outside quotes ("from=\"a,b\"" stays one option).
_OPTION = re.compile(r"""((?:[^,"']|"[^"]*"|'[^']*')+)""")

Options = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Entry:
    """One line: a key (``key_type`` set) or a line kept as written (``line`` set)."""

    ident: str  # the key's blob, or the kept line
    rank: int
    key_type: str = ""
    options: Options = ()
    comment: str = ""
    line: str | None = None

    def same_key(self, other: Entry) -> bool:
        """Same blob, type, options (as a mapping, as Ansible compares them) and comment."""
        return (self.ident, self.key_type, self.comment) == (
            other.ident,
            other.key_type,
            other.comment,
        ) and _option_map(self.options) == _option_map(other.options)

    def render(self) -> str:
        if self.line is not None:
            return self.line
        opts = ",".join(k if v is None else f"{k}={v}" for k, v in self.options)
        return f"{opts + ' ' if opts else ''}{self.key_type} {self.ident} {self.comment}\n"


def _option_map(options: Options) -> dict[str, list[str | None]]:
    found: dict[str, list[str | None]] = {}
    for name, value in options:
        found.setdefault(name, []).append(value)
    return found


def parse_options(text: str | None) -> Options:
    """``no-pty,from="a,b"`` as ``(("no-pty", None), ("from", '"a,b"'))``."""
    if not text:
        return ()
    parts = _OPTION.split(text)[1:-1]
    options: list[tuple[str, str | None]] = []
    for part in parts:
        if "=" in part:
            name, value = part.split("=", 1)
            options.append((name, value))
        elif part != ",":
            options.append((part, None))
    return tuple(options)


def parse_key(raw: str, rank: int) -> Entry | None:
    """A key line as an entry; a ``# ...`` line as a kept line; None when it is no key."""
    raw = raw.replace("\\#", "#")
    lexer = shlex.shlex(raw)
    lexer.quotes = ""
    lexer.commenters = ""
    lexer.whitespace_split = True
    try:
        parts = list(lexer)
    except ValueError:
        return None
    if parts and parts[0] == "#":
        return Entry(raw, rank, line=raw)
    index = next((i for i, part in enumerate(parts) if part in KEY_TYPES), None)
    if index is None or index + 1 >= len(parts):
        return None
    options = parse_options(" ".join(parts[:index]) if index else None)
    comment = " ".join(parts[index + 2 :])
    return Entry(parts[index + 1], rank, parts[index], options, comment)


def parse_file(text: str) -> dict[str, Entry]:
    """The file's entries by ident, in file order (a later duplicate replaces an earlier)."""
    entries: dict[str, Entry] = {}
    for rank, line in enumerate(text.splitlines(keepends=True)):
        entry = parse_key(line, rank) or Entry(line, rank, line=line)
        entries[entry.ident] = entry
    return entries


def serialize(entries: dict[str, Entry]) -> str:
    return "".join(e.render() for e in sorted(entries.values(), key=lambda e: e.rank))


def with_rank(entry: Entry, rank: int) -> Entry:
    return replace(entry, rank=rank)

"""Ansible's ``key=value`` argument strings, split exactly as Ansible splits them.

``file: path={{ d }} state=directory`` and ``command: touch {{ f }} creates={{ f }}``
are split on spaces, except inside quotes and inside Jinja ``{{ }}``, ``{% %}`` and
``{# #}``; a lone backslash at the end of a line joins it to the next. Words holding
an unescaped ``=`` are options, the rest is the free-form text (``_raw_params``).
The rules follow ansible-core's ``parse_kv``/``split_args`` (a test compares the two
on many inputs), so that content written for Ansible means the same here.
"""

from __future__ import annotations

import codecs
import re

from corral.errors import PlaybookError

__all__ = [
    "COMMAND_OPTIONS",
    "SplitError",
    "join_args",
    "parse_kv",
    "parse_options",
    "split_args",
    "unquote",
]

# The options Ansible takes out of a free-form command line (command, shell, raw,
# script); every other word, ``a=b`` included, belongs to the command.
COMMAND_OPTIONS = frozenset(
    (
        "creates",
        "removes",
        "chdir",
        "executable",
        "warn",
        "stdin",
        "stdin_add_newline",
        "strip_empty_ends",
    )
)

_ESCAPE = re.compile(
    r"""( \\U[0-9a-fA-F]{8} | \\u[0-9a-fA-F]{4} | \\x[0-9a-fA-F]{2}
        | \\N\{[^}]+\} | \\[\\'"abfnrtv] )""",
    re.VERBOSE,
)


class SplitError(PlaybookError):
    """Unbalanced quotes or Jinja blocks in an argument string."""


def _decode_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), text)


def unquote(text: str) -> str:
    """``"a b"`` -> ``a b``: drop one pair of matching outer quotes (not an escaped one)."""
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" and text[-2] != "\\":
        return text[1:-1]
    return text


def _quote_state(token: str, quote: str | None) -> str | None:
    """The quote still open after ``token`` (None when none), given the one open before it."""
    previous = ""
    for char in token:
        if char in "\"'" and previous != "\\":
            if quote is None:
                quote = char
            elif char == quote:
                quote = None
        previous = char
    return quote


def _depth(token: str, depth: int, opening: str, closing: str) -> int:
    opened, closed = token.count(opening), token.count(closing)
    if opened != closed:
        depth = max(0, depth + opened - closed)
    return depth


def join_args(words: list[str]) -> str:
    """Put split words back together, keeping the newlines they carry."""
    result = ""
    for word in words:
        result += word if not result or result.endswith("\n") else " " + word
    return result


def split_args(text: str) -> list[str]:
    """Split ``text`` on spaces, keeping quoted parts and Jinja blocks whole.

    Raises :class:`SplitError` when a quote or a Jinja block is left open.
    """
    if not text:
        return []
    splitter = _Splitter()
    lines = text.split("\n")
    for line_index, line in enumerate(lines):
        continuation = False
        for index, piece in enumerate(line.split(" ")):
            if piece == "\\" and not splitter.quote:
                continuation = True
            else:
                splitter.feed(piece, index)
        if len(lines) > 1 and line_index != len(lines) - 1 and not continuation:
            splitter.glue("\n")
    if any(splitter.depths.values()) or splitter.quote:
        raise SplitError(f"unbalanced quotes or Jinja block in arguments: {text!r}")
    return splitter.params


class _Splitter:
    """The state of :func:`split_args`: words so far, the open quote, Jinja block depths."""

    def __init__(self) -> None:
        self.params: list[str] = []
        self.quote: str | None = None
        self.depths = {"{{": 0, "{%": 0, "{#": 0}

    def glue(self, text: str) -> None:
        """Add ``text`` to the last word (runs of spaces and newlines are kept)."""
        if not self.params:
            self.params.append("")
        self.params[-1] += text

    def feed(self, piece: str, index: int) -> None:
        """Take the ``index``-th space-separated piece of a line."""
        if not piece and index != 0:
            self.glue(" ")
            return
        was_quoted = self.quote is not None
        self.quote = _quote_state(piece, self.quote)
        quoted = self.quote is not None
        in_block = any(self.depths.values())
        appended = False
        if quoted and not was_quoted and not in_block:
            self.params.append(piece)
            appended = True
        elif in_block or quoted or was_quoted:
            self.params[-1] += piece if index == 0 and was_quoted else (" " * (index > 0)) + piece
            appended = True
        for opening, closing in (("{{", "}}"), ("{%", "%}"), ("{#", "#}")):
            before = self.depths[opening]
            self.depths[opening] = _depth(piece, before, opening, closing)
            if self.depths[opening] != before and not appended:
                self.params.append(piece)
                appended = True
        if not any(self.depths.values()) and not quoted and not appended and piece:
            self.params.append(piece)


def parse_kv(text: str, *, check_raw: bool = False) -> dict[str, str]:
    """``a=1 b="x y"`` -> ``{"a": "1", "b": "x y"}``; other words go to ``_raw_params``.

    With ``check_raw`` (free-form commands), only :data:`COMMAND_OPTIONS` are taken
    as options: ``echo a=b`` keeps ``a=b`` in the command line.
    """
    return parse_options(text, COMMAND_OPTIONS if check_raw else None)


def parse_options(text: str, options: frozenset[str] | None) -> dict[str, str]:
    """:func:`parse_kv` taking only the keys in ``options`` (all keys when None)."""
    found: dict[str, str] = {}
    raw: list[str] = []
    for word in split_args(text):
        decoded = _decode_escapes(word)
        position = _unescaped_equals(decoded)
        if position is None:
            raw.append(decoded.replace("\\=", "=") if "=" in decoded else word)
            continue
        key, value = decoded[:position], decoded[position + 1 :]
        if options is not None and key not in options:
            raw.append(word)
        else:
            found[key.strip()] = unquote(value.strip())
    if raw:
        found["_raw_params"] = join_args(raw)
    return found


def _unescaped_equals(word: str) -> int | None:
    """Where the first ``=`` not preceded by a backslash is (never at position 0)."""
    position = 0
    while True:
        position = word.find("=", position + 1)
        if position < 0:
            return None
        if word[position - 1] != "\\":
            return position

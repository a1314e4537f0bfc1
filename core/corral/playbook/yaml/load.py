"""Load a playbook or variables file: one YAML document, with a position on every node.

:func:`load_yaml_file` and :func:`load_yaml_text` return plain Python data whose
mappings, sequences and strings are :class:`MarkedDict`, :class:`MarkedList` and
:class:`MarkedStr` (see :mod:`corral.playbook.yaml.marked`), so later stages can report
``site.yml:12:7: ...`` for any value. An empty file (or one with only comments) loads as
``None``; callers decide whether that is allowed.

Meaning is PyYAML's ``SafeLoader`` (YAML 1.1, as Ansible reads playbooks): ``yes``/``no``/
``on``/``off`` are booleans, ``0755`` is an octal int, ``2024-01-31`` a date, ``<<: *base``
merges mappings. The standard ``!!`` tags are read, and Ansible's ``!unsafe`` (a value
never templated) and ``!vault`` (decrypted, see :mod:`corral.vault`); any other tag
(Python object tags above all) is refused. Where this loader differs from PyYAML, it
is stricter or clearer, never different in meaning:

- a key written twice in one mapping is an error (PyYAML keeps the last value silently);
- an alias to a node that contains it (a recursive structure) is an error;
- the ``!!merge`` and ``!!value`` resolutions of a plain ``<<`` or ``=`` used as a value
  give the string (PyYAML fails with "could not determine a constructor").

Aliases are shared, as in PyYAML: ``*base`` is the very object anchored as ``&base``.
Treat loaded data as read-only, or copy before changing it.

That is the :data:`~corral.playbook.yaml.dialect.PLAYBOOK` dialect. Inventory and variables
files take the same path in the inventory's dialect (see
:mod:`corral.playbook.yaml.dialect` and :func:`corral.playbook.yaml.read.load_data`), so
every bound below holds for them too.

Bounds, so that no input can hang or crash the loader:

- files larger than :data:`MAX_FILE_BYTES` (10 MiB) are refused before parsing;
- collections nested deeper than :data:`MAX_DEPTH` (200) levels are refused as soon as
  the parser reaches level 201 (including depth reached through an alias);
- aliases may add at most :data:`ALIAS_NODE_BUDGET` (100,000) nodes plus
  :data:`ALIAS_NODES_PER_NODE` (10) per node written in the file, counting each alias as a
  full copy of what it refers to; a "billion laughs" document stops at the alias that
  crosses the line.

Files are read as UTF-8 (a UTF-8 or UTF-16 byte-order mark is honoured); a file with NUL
bytes or invalid UTF-8 is "not a text file".

Parsing uses libyaml (``yaml.CSafeLoader``, as Ansible does when it can) when PyYAML was
built with it, and PyYAML's pure-Python parser otherwise: about 6 times slower, and
stricter about tabs (it refuses a tab after a value, ``key:<TAB>value``, which libyaml
accepts). A 5 MB playbook of 20,000 tasks loads in about 1.5 s with libyaml. Either way
composing is done by :mod:`corral.playbook.yaml.compose`, from the parser's event stream
with an explicit stack, so nesting depth never touches the Python or C stack. Every call
builds its own parser, so loading from several threads at once is safe.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from corral.errors import CorralError, Location, PlaybookError
from corral.playbook.yaml.compose import compose
from corral.playbook.yaml.dialect import PLAYBOOK, Dialect
from corral.playbook.yaml.limits import (
    ALIAS_NODE_BUDGET,
    ALIAS_NODES_PER_NODE,
    MAX_DEPTH,
    MAX_FILE_BYTES,
)
from corral.playbook.yaml.marked import MarkedDict, MarkedList, MarkedStr, mark_of

__all__ = [
    "ALIAS_NODES_PER_NODE",
    "ALIAS_NODE_BUDGET",
    "LIBYAML",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MarkedDict",
    "MarkedList",
    "MarkedStr",
    "load_yaml_file",
    "load_yaml_text",
    "mark_of",
]

LIBYAML: bool = hasattr(yaml, "CSafeLoader")
"""Whether PyYAML has libyaml; without it, parsing is about 15 times slower."""

# Tests switch this to run every case through both parsers.
_LOADER: Any = yaml.CSafeLoader if LIBYAML else yaml.SafeLoader

# Characters YAML 1.1 accepts in a stream (PyYAML's Reader.NON_PRINTABLE).
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_LONG_ESCAPE = re.compile(r"\\U([0-9A-Fa-f]{8})")
_TOO_BIG_HINT = (
    "split it into smaller files (vars_files, import_tasks, include_tasks); the limit "
    "keeps a runaway or generated file from stalling every corral command"
)


def load_yaml_file(path: Path, *, display_name: str | None = None) -> Any:
    """Load the single YAML document in ``path``; ``None`` if the file has no content.

    ``display_name`` (default ``str(path)``) is the file name used in every
    :class:`~corral.errors.Location`, so errors read as the user wrote the path.
    Raises :class:`~corral.errors.PlaybookError` for a missing or unreadable file, a
    file over 10 MiB, a binary or non-UTF-8 file, and anything :func:`load_yaml_text`
    rejects.
    """
    name = str(path) if display_name is None else display_name
    data = _read(path, name)
    if data.startswith(b"$ANSIBLE_VAULT"):  # corral.vault is imported only when needed
        from corral.vault import decrypt_if_vault

        data = decrypt_if_vault(data, name)
    return load_yaml_text(_decode(data, name), name)


def load_yaml_text(text: str, filename: str, *, dialect: Dialect = PLAYBOOK) -> Any:
    """Load the single YAML document in ``text``; ``None`` if it has no content.

    ``filename`` names the source in every :class:`~corral.errors.Location`;
    ``dialect`` says what the kind of file allows beyond a playbook. Raises
    :class:`~corral.errors.PlaybookError` (a one-line message at ``file:line:col``, with a
    hint) for a syntax error, a second document, a duplicate key, an unknown tag or
    alias, a recursive alias, nesting deeper than :data:`MAX_DEPTH`, too much alias
    expansion, text over 10 MiB or a character YAML does not allow.
    """
    if len(text) > MAX_FILE_BYTES:
        raise PlaybookError(
            f"file is too big to load ({len(text):,} characters; the limit is 10 MiB)",
            hint=_TOO_BIG_HINT,
            location=Location(filename),
        )
    text = text.removeprefix("\ufeff")  # editors show no column for a byte-order mark
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        raise _bad_character(text, bad.start(), filename)
    return _compose(_LOADER, text, filename, dialect)


def _compose(loader_class: Any, text: str, filename: str, dialect: Dialect) -> Any:
    loader = loader_class(text)
    try:
        return compose(loader, filename, dialect)
    except yaml.MarkedYAMLError as exc:
        if loader_class is not yaml.SafeLoader and exc.problem == _LIBYAML_TOO_DEEP:
            # libyaml (from PyYAML 6.0.4) stops at 1,000 levels while scanning ahead,
            # before the composer sees level 201: the pure-Python parser reports the
            # nesting where it crosses corral's limit, as every other file gets it.
            return _compose(yaml.SafeLoader, text, filename, dialect)
        raise dialect.syntax_error(exc, text, filename) from exc
    except CorralError:  # a !vault value that cannot be decrypted (a ValueError too)
        raise
    except ValueError as exc:  # PyYAML's Python scanner: chr() of an escape past U+10FFFF
        raise _bad_escape(text, filename) from exc
    except yaml.YAMLError as exc:  # a ReaderError the character check did not foresee
        raise PlaybookError(
            f"not a text file ({' '.join(str(exc).split())})", location=Location(filename)
        ) from exc
    finally:
        loader.dispose()


def _bad_escape(text: str, name: str) -> PlaybookError:
    """libyaml refuses ``"\\U00110000"`` as a syntax error; PyYAML's own scanner raises."""
    found = next((m for m in _LONG_ESCAPE.finditer(text) if int(m[1], 16) > 0x10FFFF), None)
    if found is None:
        return PlaybookError(
            "invalid escape sequence in a double-quoted string", location=Location(name)
        )
    line = len(_LINE_BREAK.findall(text, 0, found.start())) + 1
    line_start = max(text.rfind(sep, 0, found.start()) for sep in "\n\r\x85\u2028\u2029") + 1
    return PlaybookError(
        f"escape sequence {found[0]!r} is past U+10FFFF, the last Unicode character",
        location=Location(name, line, found.start() - line_start + 1),
    )


def _read(path: Path, name: str) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
            size = os.fstat(stream.fileno()).st_size
    except FileNotFoundError:
        raise PlaybookError(
            "file not found", hint=f"looked for {path.absolute()}", location=Location(name)
        ) from None
    except IsADirectoryError:
        raise PlaybookError("is a directory, not a file", location=Location(name)) from None
    except PermissionError:
        raise PlaybookError(
            "cannot read the file: permission denied", location=Location(name)
        ) from None
    except OSError as exc:
        raise PlaybookError(
            f"cannot read the file: {exc.strerror or exc}", location=Location(name)
        ) from None
    if len(data) > MAX_FILE_BYTES:
        # st_size is 0 for pipes and devices; all we know then is "over the limit".
        shown = f"{size / 2**20:.1f} MiB" if size > MAX_FILE_BYTES else "over 10 MiB"
        raise PlaybookError(
            f"file is too big to load ({shown}; the limit is 10 MiB)",
            hint=_TOO_BIG_HINT,
            location=Location(name),
        )
    return data


def _decode(data: bytes, name: str) -> str:
    """UTF-8 (or UTF-16 with a byte-order mark, as Windows editors save "Unicode") to text."""
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    if encoding == "utf-8" and b"\x00" in data:
        raise PlaybookError(
            "not a text file (it contains a NUL byte)",
            hint="playbooks and variable files are YAML text in UTF-8",
            location=_byte_location(data, data.index(b"\x00"), name),
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise PlaybookError(
                "not a text file (invalid UTF-16)", location=Location(name)
            ) from None
        raise PlaybookError(
            f"not a text file (invalid UTF-8 byte 0x{data[exc.start]:02x})",
            hint="corral reads YAML files as UTF-8; if this file was saved as Latin-1 or "
            "another legacy encoding, save it again as UTF-8",
            location=_byte_location(data, exc.start, name),
        ) from None


def _byte_location(data: bytes, offset: int, name: str) -> Location:
    line_start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return Location(name, data.count(b"\n", 0, offset) + 1, col)


def _bad_character(text: str, offset: int, name: str) -> PlaybookError:
    line_start = max(text.rfind(sep, 0, offset) for sep in "\n\r\x85\u2028\u2029") + 1
    line = len(_LINE_BREAK.findall(text, 0, offset)) + 1
    location = Location(name, line, offset - line_start + 1)
    char = text[offset]
    if char == "\x00":
        return PlaybookError(
            "not a text file (it contains a NUL character)",
            hint="playbooks and variable files are YAML text in UTF-8",
            location=location,
        )
    code = f"U+{ord(char):04X}"
    return PlaybookError(
        f"found the control character {code}, which YAML does not allow",
        hint=f'remove it, or write it as "\\u{ord(char):04x}" inside a double-quoted string',
        location=location,
    )

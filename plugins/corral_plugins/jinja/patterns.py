"""Regular expressions for the regex filters and tests, in guaranteed time.

Patterns keep Python's syntax and meaning (as in Ansible). They run on RE2
(``google-re2``), whose time is linear in the text, whenever RE2 gives the same
answer as Python's ``re``: so ``(a+)+$`` on a long string answers at once instead
of backtracking for hours. RE2 cannot run backreferences and lookarounds, and a
few constructs mean something else there (``$`` before a final newline, ``\\w``,
``\\d``, ``\\s`` and ``\\b`` on non-ASCII text, ``x{,3}``); those
run on the ``regex`` module, Python-compatible, under a time limit
(``CORRAL_TEMPLATE_REGEX_TIMEOUT``, 5 seconds by default). Going over it is a
one-line :func:`~corral.playbook.templating.limits.limit_exceeded` error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from corral import TemplateError
from corral.playbook.templating.limits import REGEX_TIMEOUT_VARIABLE, limit_exceeded

__all__ = ["find_all", "first_match", "replace"]

_CLASSES = re.compile(r"\\[dDwWsSbB]|\(\?[a-zA-Z]*i")  # differ from Python's beyond ASCII
_NOT_RE2_SPACE = frozenset("\v")  # Python's \s matches it, RE2's does not
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


@dataclass(frozen=True)
class _Pattern:
    python: re.Pattern[str]
    fast: Any  # the RE2 program, or None when RE2 cannot run the pattern
    needs_plain_text: bool  # RE2 agrees with Python only on ASCII text
    ends_with_dollar: bool  # RE2's ``$`` does not match before a final newline


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, flags: int) -> _Pattern:
    python = re.compile(pattern, flags)  # Python's syntax errors, as before
    fast = None
    if "{," not in pattern:
        prefix = ("i" if flags & re.IGNORECASE else "") + ("m" if flags & re.MULTILINE else "")
        import re2  # linear-time engine; imported at the first pattern, not at start-up

        options = re2.Options()
        options.log_errors = False
        try:
            fast = re2.compile(f"(?{prefix}){pattern}" if prefix else pattern, options)
        except re2.error:
            fast = None  # backreferences, lookarounds, ...
    return _Pattern(
        python=python,
        fast=fast,
        needs_plain_text=bool(flags & re.IGNORECASE or _CLASSES.search(pattern)),
        ends_with_dollar="$" in pattern and not flags & re.MULTILINE,
    )


def _on_re2(compiled: _Pattern, text: str) -> bool:
    if compiled.fast is None:
        return False
    if compiled.ends_with_dollar and text.endswith("\n"):
        return False
    if compiled.needs_plain_text:
        return text.isascii() and not _NOT_RE2_SPACE.intersection(text)
    return True


def _slow(compiled: _Pattern) -> Any:
    import regex  # only for the patterns RE2 cannot run

    return regex.compile(compiled.python.pattern, compiled.python.flags | regex.V0)


def _timed_out(what: str, pattern: str, timeout: float) -> TemplateError:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return limit_exceeded(
        f"{what}: the pattern {shown!r} ran over the time limit of {timeout:g} s "
        f"({REGEX_TIMEOUT_VARIABLE}); RE2 cannot run it, so it backtracks"
    )


def first_match(pattern: str, text: str, flags: int, *, how: str, timeout: float, what: str) -> Any:
    """The first match (``how``: search, match or fullmatch), or None; ``.group()`` as re's."""
    compiled = _compile(pattern, flags)
    if _on_re2(compiled, text):
        return getattr(compiled.fast, how)(text)
    try:
        return getattr(_slow(compiled), how)(text, timeout=timeout)
    except TimeoutError:
        raise _timed_out(what, pattern, timeout) from None


# --- every match, on RE2 with Python's rules for empty matches ---------------------------


def _next_char(data: bytes, pos: int) -> int:
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:  # inside a UTF-8 sequence
        pos += 1
    return pos


def _spans(fast: Any, data: bytes, count: int = 0) -> Iterator[list[tuple[int, int]]]:
    """Byte spans of every group of each match, as ``re.finditer`` would find them."""
    pos, empty_at, found = 0, -1, 0
    while pos <= len(data) and (count <= 0 or found < count):
        match = fast.search(data, pos)
        if match is not None and match.start() == match.end() == empty_at:
            # Python never returns two empty matches at one position.
            match = None if pos >= len(data) else fast.search(data, _next_char(data, pos))
        if match is None:
            return
        yield [match.span(g) for g in range(fast.groups + 1)]
        found += 1
        pos = match.end()
        empty_at = pos if match.start() == pos else -1


def _text(data: bytes, span: tuple[int, int]) -> str | None:
    return None if span[0] < 0 else data[span[0] : span[1]].decode("utf-8")


def find_all(pattern: str, text: str, flags: int, *, timeout: float, what: str) -> list[Any]:
    """``re.findall``: whole matches, a group's text, or tuples of groups."""
    compiled = _compile(pattern, flags)
    if not _on_re2(compiled, text):
        try:
            found: list[Any] = _slow(compiled).findall(text, timeout=timeout)
        except TimeoutError:
            raise _timed_out(what, pattern, timeout) from None
        return found
    data = text.encode("utf-8")
    groups = compiled.python.groups
    results: list[Any] = []
    for spans in _spans(compiled.fast, data):
        texts = [_text(data, span) or "" for span in spans]
        results.append(texts[0] if groups == 0 else texts[1] if groups == 1 else tuple(texts[1:]))
    return results


def _template(repl: str, compiled: re.Pattern[str]) -> list[str | int]:
    """``repl`` as literal text and group numbers (Python's rules; already validated)."""
    parts: list[str | int] = []
    literal: list[str] = []
    i = 0
    while i < len(repl):
        char = repl[i]
        following = repl[i + 1 : i + 2]
        if char != "\\":
            literal.append(char)
            i += 1
            continue
        group: int | None = None
        if following == "g":
            end = repl.index(">", i)
            name = repl[i + 3 : end]
            group = int(name) if name.isdigit() else compiled.groupindex[name]
            i = end + 1
        elif octal := re.match(r"\\(0[0-7]{0,2}|[0-7]{3})", repl[i:]):
            literal.append(chr(int(octal.group(1), 8)))
            i += octal.end()
        elif number := re.match(r"\\(\d\d?)", repl[i:]):
            group = int(number.group(1))
            i += number.end()
        else:
            literal.append(_ESCAPES.get(following, "\\" + following))
            i += 2
        if group is not None:
            parts.append("".join(literal))
            literal = []
            parts.append(group)
    parts.append("".join(literal))
    return parts


def replace(
    pattern: str, repl: str, text: str, flags: int, *, count: int, timeout: float, what: str
) -> tuple[str, int]:
    """``re.subn``: the text with matches replaced, and how many were."""
    compiled = _compile(pattern, flags)
    compiled.python.sub(repl, "")  # a bad replacement fails as it does with re
    if not _on_re2(compiled, text):
        try:
            result: tuple[str, int] = _slow(compiled).subn(repl, text, count=count, timeout=timeout)
        except TimeoutError:
            raise _timed_out(what, pattern, timeout) from None
        return result
    parts = _template(repl, compiled.python) if "\\" in repl else [repl]
    data = text.encode("utf-8")
    pieces: list[str] = []
    last, made = 0, 0
    for spans in _spans(compiled.fast, data, count):
        start, end = spans[0]
        pieces.append(data[last:start].decode("utf-8"))
        for part in parts:
            pieces.append(part if isinstance(part, str) else _text(data, spans[part]) or "")
        last, made = end, made + 1
    pieces.append(data[last:].decode("utf-8"))
    return "".join(pieces), made

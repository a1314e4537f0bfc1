"""Turn PyYAML's syntax errors into one-line :class:`~corral.errors.PlaybookError` s.

PyYAML reports a syntax error as a problem and a context, each with a mark, worded
differently by libyaml and by the pure-Python parser (``did not find expected key`` versus
``expected <block end>, but found '<block mapping start>'``). A user needs one line that
says what is wrong in their terms, at the position that shows it (the opening quote of an
unclosed string, not the end of the file), plus a hint. The rules below recognise the
common mistakes from either parser's wording; anything else falls back to PyYAML's own
problem text, still on one line and still at ``file:line:col``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.errors import Location, PlaybookError

__all__ = ["syntax_error"]

# An unquoted Jinja expression at the start of a value: `msg: {{ x }}` or `- {{ x }}`.
_BARE_JINJA = re.compile(r"(?:^|[:\-])\s+\{\{")
_JINJA_HINT = (
    "a value that starts with '{{' must be quoted as a whole, e.g. msg: \"{{ greeting }} world\""
)


@dataclass(frozen=True)
class _Syntax:
    """A PyYAML syntax error, with 1-based positions and access to the source lines."""

    filename: str
    lines: list[str]
    problem: str
    problem_at: tuple[int, int] | None
    context: str
    context_at: tuple[int, int] | None

    def line(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def at_end(self, at: tuple[int, int] | None) -> bool:
        """Whether only blanks follow ``at``: the parser ran out of file."""
        if at is None:
            return False
        rest = [self.line(at[0])[at[1] - 1 :], *self.lines[at[0] :]]
        return all(not part.strip() for part in rest)

    def char(self, at: tuple[int, int] | None) -> str:
        if at is None:
            return ""
        text = self.line(at[0])
        return text[at[1] - 1] if 0 < at[1] <= len(text) else ""

    def error(
        self, message: str, at: tuple[int, int] | None, hint: str | None = None
    ) -> PlaybookError:
        at = at or self.problem_at or self.context_at
        location = Location(self.filename, at[0], at[1]) if at else Location(self.filename)
        return PlaybookError(message, hint=hint, location=location)


def syntax_error(exc: Any, text: str, filename: str) -> PlaybookError:
    """The :class:`PlaybookError` for ``exc``, a ``yaml.MarkedYAMLError`` raised on ``text``."""
    syntax = _Syntax(
        filename=filename,
        lines=text.splitlines(),  # YAML's line breaks, once the character check has run
        problem=" ".join(str(exc.problem or "").split()),
        problem_at=_position(exc.problem_mark),
        context=" ".join(str(exc.context or "").split()),
        context_at=_position(exc.context_mark),
    )
    for rule in _RULES:
        error = rule(syntax)
        if error is not None:
            return error
    return _generic(syntax)


def _position(mark: Any) -> tuple[int, int] | None:
    return None if mark is None else (mark.line + 1, mark.column + 1)


def _tab(s: _Syntax) -> PlaybookError | None:
    if s.char(s.problem_at) != "\t" and "tab character" not in s.problem:
        return None
    assert s.problem_at is not None
    line, col = s.problem_at
    where = f"line {line}, column {col}"
    if s.line(line)[: col - 1].strip(" \t") == "":
        return s.error(
            "found a tab character where indentation is expected",
            s.problem_at,
            f"YAML indentation uses spaces; replace the tab at {where} with spaces",
        )
    return s.error(
        "found a tab character where YAML does not allow one",
        s.problem_at,
        f"replace the tab at {where} with spaces",
    )


def _quoted(s: _Syntax) -> PlaybookError | None:
    if "quoted scalar" not in s.context:
        return None
    quote = s.char(s.context_at) or '"'
    if "escape" in s.problem:
        at = s.problem_at
        if at is not None and s.char(at) != "\\" and s.char((at[0], at[1] - 1)) == "\\":
            at = (at[0], at[1] - 1)  # the pure-Python parser points past the backslash
        sequence = s.line(at[0])[at[1] - 1 : at[1] + 1] if at else "\\"
        return s.error(
            f"unknown escape sequence '{sequence}' in a double-quoted string",
            at,
            "write a backslash as '\\\\' inside double quotes, or use single quotes, "
            "where a backslash is an ordinary character",
        )
    if "end of stream" in s.problem or "document" in s.problem:
        return s.error(
            f"unclosed quote: the string that starts here with {quote} never ends",
            s.context_at,
            f"add the closing {quote}; to put a {quote} inside the string, "
            + ('write it as \\"' if quote == '"' else "write it twice ('')"),
        )
    return None


def _bad_start(s: _Syntax) -> PlaybookError | None:
    if "cannot start any token" not in s.problem:
        return None
    char = s.char(s.problem_at)
    if char in ("@", "`"):
        return s.error(
            f"a plain value cannot start with '{char}' (reserved in YAML)",
            s.problem_at,
            f'put the value in quotes: "{char}..."',
        )
    return s.error(
        f"found {char!r}, which cannot start a YAML value here" if char else s.problem,
        s.problem_at,
        "put the value in quotes",
    )


def _colon(s: _Syntax) -> PlaybookError | None:
    if "mapping values are not allowed" not in s.problem:
        return None
    return s.error(
        "unexpected ':' (a key: value pair cannot start here)",
        s.problem_at,
        "if the value contains ': ', put the whole value in quotes; otherwise check "
        "this line's indentation against the lines above",
    )


def _dash(s: _Syntax) -> PlaybookError | None:
    if "sequence entries are not allowed" not in s.problem:
        return None
    return s.error(
        "unexpected '- ' (a list cannot start on the same line as its key)",
        s.problem_at,
        "start the list on the next line, indented under the key, or write it as [a, b]",
    )


def _block_mapping(s: _Syntax) -> PlaybookError | None:
    if "block mapping" not in s.context or s.problem_at is None:
        return None
    line, col = s.problem_at
    text = s.line(line)
    hint = _JINJA_HINT if _BARE_JINJA.search(text) else None
    start = _describe(s.context_at)
    if text[: col - 1].strip() == "":
        return s.error(
            "bad indentation: this line does not line up with the keys above it",
            s.problem_at,
            hint or f"keys of one mapping start in the same column (this mapping starts {start})",
        )
    return s.error(
        "unexpected text after a value",
        s.problem_at,
        hint
        or "a value that starts with a quote must end with it; quote the whole value "
        "if it contains quotes or ': '",
    )


def _block_sequence(s: _Syntax) -> PlaybookError | None:
    if "block collection" not in s.context:
        return None
    return s.error(
        "bad indentation: expected a list item ('- ') here, like the lines above",
        s.problem_at,
        f"items of one list start in the same column (this list starts {_describe(s.context_at)});"
        " a list and a mapping cannot share one indentation level",
    )


def _simple_key(s: _Syntax) -> PlaybookError | None:
    if "simple key" not in s.context:
        return None
    return s.error(
        "could not find the ':' that ends this key (a key must fit on one line)",
        s.context_at,
        "add the missing ':' after the key, or quote a value that continues on the next line",
    )


def _flow(s: _Syntax) -> PlaybookError | None:
    match = re.search(r"flow (sequence|mapping)", s.context)
    if match is None:
        return None
    opening, closing = ("[", "]") if match.group(1) == "sequence" else ("{", "}")
    kind = "list" if opening == "[" else "mapping"
    if "stream end" in s.problem or s.at_end(s.problem_at):
        return s.error(
            f"unclosed '{opening}': the {kind} that starts here is never closed",
            s.context_at,
            f"add the closing '{closing}'",
        )
    return s.error(
        f"expected ',' or '{closing}' in the {kind} that starts {_describe(s.context_at)}",
        s.problem_at,
        _JINJA_HINT
        if _BARE_JINJA.search(s.line(s.context_at[0] if s.context_at else 0))
        else f"separate items with ', ' and close the {kind} with '{closing}'; "
        "quote values that contain ': '",
    )


def _anchor(s: _Syntax) -> PlaybookError | None:
    match = re.search(r"scanning an (alias|anchor)", s.context)
    if match is None:
        return None
    sign = "*" if match.group(1) == "alias" else "&"
    return s.error(
        f"'{sign}' must be followed by an {match.group(1)} name",
        s.context_at,
        f"put the value in quotes if '{sign}' is meant literally",
    )


def _block_scalar(s: _Syntax) -> PlaybookError | None:
    if "block scalar" not in s.context:
        return None
    return s.error(
        "unexpected text after '|' or '>' (a block of text starts on the next line)",
        s.problem_at,
        "after '|' or '>' only '-', '+', an indentation digit or a comment may follow; "
        "put the text on the following lines, indented",
    )


def _generic(s: _Syntax) -> PlaybookError:
    message = s.problem or s.context or "invalid YAML"
    if s.problem and s.context and s.context_at and s.context_at != s.problem_at:
        message += f" ({s.context} {_describe(s.context_at)})"
    at = s.problem_at or s.context_at
    hint = _JINJA_HINT if at and _BARE_JINJA.search(s.line(at[0])) else None
    return s.error(message, at, hint)


def _describe(at: tuple[int, int] | None) -> str:
    return "above" if at is None else f"at line {at[0]}, column {at[1]}"


_RULES: tuple[Callable[[_Syntax], PlaybookError | None], ...] = (
    _tab,
    _quoted,
    _bad_start,
    _colon,
    _dash,
    _simple_key,
    _block_mapping,
    _block_sequence,
    _flow,
    _anchor,
    _block_scalar,
)

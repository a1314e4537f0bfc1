"""The regex filters give Python's answers while running on RE2 (issue 14, item 11).

corral_plugins.jinja.patterns runs patterns on RE2 where RE2 agrees with Python's
``re``, and on the ``regex`` module (with a timeout) elsewhere. These cases compare
every answer with ``re``'s, including the constructs whose meaning differs in RE2.
(Known differences, documented in docs/templating.md: ``[[:alpha:]]`` is a POSIX
class, and ``\\s`` does not match the separators ``\\x1c``-``\\x1f``.)
"""

from __future__ import annotations

import itertools
import re

import pytest

from corral_plugins.jinja import patterns

PATTERNS = [
    "x*",
    "",
    "a|",
    "^",
    "$",
    "(?m)^",
    "(?m)$",
    "\\b",
    "\\w+",
    "\\d+",
    "\\s+",
    "(a)(b)?",
    "(?P<word>\\w+)@(?P<host>[a-z.]+)",
    "line$",
    "^\\S+$",
    "a{,2}",
    "(a)\\1",
    "(?<=a)b",
    "(?i)straße",
    "é+",
    ".",
    "[^a]",
]
TEXTS = [
    "",
    "abxd",
    "a\nb\n",
    "ab cd",
    "x@a.b y@c",
    "line\n",
    "aab ab",
    "é é\tx",
    "\x0b s",
    "STRASSE straße",
]
REPLACEMENTS = ["-", "<\\g<0>>", "\\1", "[\\n]", "é", "\\\\"]


@pytest.mark.parametrize(("pattern", "text"), list(itertools.product(PATTERNS, TEXTS)))
@pytest.mark.parametrize("flags", [0, re.IGNORECASE, re.MULTILINE])
def test_answers_match_python(pattern: str, text: str, flags: int) -> None:
    expected = re.compile(pattern, flags)
    kwargs = {"timeout": 5.0, "what": "test"}
    assert patterns.find_all(pattern, text, flags, **kwargs) == expected.findall(text)
    for how in ("search", "match", "fullmatch"):
        found = patterns.first_match(pattern, text, flags, how=how, **kwargs)
        wanted = getattr(expected, how)(text)
        assert (found is None) == (wanted is None), how
        if wanted is not None:
            assert found.group() == wanted.group()
    for repl in REPLACEMENTS:
        if expected.groups == 0 and "\\1" in repl:
            continue
        wanted_text = expected.subn(repl, text)
        assert patterns.replace(pattern, repl, text, flags, count=0, **kwargs) == wanted_text
        assert patterns.replace(pattern, repl, text, flags, count=1, **kwargs) == expected.subn(
            repl, text, count=1
        )


def test_python_errors_stay_python_errors() -> None:
    with pytest.raises(re.error):
        patterns.find_all("(", "x", 0, timeout=1.0, what="test")
    with pytest.raises(re.error):
        patterns.replace("a", "\\q", "a", 0, count=0, timeout=1.0, what="test")

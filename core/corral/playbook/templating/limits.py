"""How much one render may build and do, so that no template can exhaust the controller.

The sandboxed environment (:mod:`corral.playbook.templating.environment`) checks the
sizes below *before* it builds a value, because building a two-gigabyte string is
already the damage. A render that goes over a limit fails with
a one-line :class:`~corral.errors.TemplateError` (:func:`limit_exceeded`) naming the
limit and the variable that raises it. docs/templating.md ("Limits") is the reference.

- strings: no string a template builds (method, filter, operator, format, output)
  may exceed ``max_string`` characters; a render's whole output neither.
- iterations: loop iterations and calls in one render, together, stay under
  ``max_iterations`` (nested loops multiply; recursion fans out).
- integers: ``*`` and ``**`` stop before a result too long to print (Python refuses
  to convert integers of more than 4300 digits to text).
- combinations: ``product``, ``permutations`` and ``combinations`` filters stop
  before producing more than ``max_iterations`` items.
- regular expressions: filters that run patterns a backtracking engine must run stop
  after ``regex_timeout`` seconds (the jinja plugin runs the rest on RE2).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.errors import TemplateError

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "RenderBudget",
    "TemplateLimits",
    "check_depth",
    "check_format_spec",
    "check_int_bits",
    "check_item_count",
    "check_percent_format",
    "check_string_size",
    "limit_exceeded",
]

MAX_DEPTH = 200  # nesting a rendered value may have, as for YAML input: results are serialised
MAX_INT_DIGITS = 4000  # below Python's 4300-digit limit for int -> str, so results stay printable
_MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10))

STRING_VARIABLE = "CORRAL_TEMPLATE_MAX_STRING"
ITERATIONS_VARIABLE = "CORRAL_TEMPLATE_MAX_ITERATIONS"
REGEX_TIMEOUT_VARIABLE = "CORRAL_TEMPLATE_REGEX_TIMEOUT"


def limit_exceeded(detail: str) -> TemplateError:
    """The error for a render that went over one of the :class:`TemplateLimits`."""
    # The same words as the sandbox's other refusals (see templating.errors.translate).
    return TemplateError(f"unsafe template operation refused: {detail}")


@dataclass(frozen=True)
class TemplateLimits:
    """The bounds every render of one Templar obeys (defaults suit real playbooks)."""

    max_string: int = 10_000_000
    """characters in any one string a template builds, and in one render's output"""
    max_iterations: int = 1_000_000
    """loop iterations plus calls in one render; also items from product/permutations"""
    regex_timeout: float = 5.0
    """seconds one regular-expression call may take when RE2 cannot run the pattern"""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TemplateLimits:
        """Defaults, overridden by ``CORRAL_TEMPLATE_MAX_STRING``, ``..._MAX_ITERATIONS``
        and ``..._REGEX_TIMEOUT`` where set."""
        default = cls()
        return cls(
            max_string=int(_positive(environ, STRING_VARIABLE, default.max_string)),
            max_iterations=int(_positive(environ, ITERATIONS_VARIABLE, default.max_iterations)),
            regex_timeout=_positive(environ, REGEX_TIMEOUT_VARIABLE, default.regex_timeout),
        )

    def check_string(self, size: int, what: str = "string") -> None:
        """Fail if a ``what`` of ``size`` characters is over ``max_string``."""
        check_string_size(size, self.max_string, what)


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text) if "." in text else int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise TemplateError(f"{name} must be a positive number, not {text!r}")
    return value


def check_string_size(size: int, limit: int, what: str = "string") -> None:
    """Fail if a ``what`` of ``size`` characters is over ``limit``."""
    if size > limit:
        unit = "items" if what == "list" else "characters"
        raise limit_exceeded(
            f"a {what} of {size} {unit} is over the limit of {limit} ({STRING_VARIABLE})"
        )


def check_int_bits(bits: float) -> None:
    """Fail if an integer of ``bits`` bits would have more than MAX_INT_DIGITS digits."""
    if bits > _MAX_INT_BITS:
        digits = int(bits / math.log2(10)) + 1
        raise limit_exceeded(
            f"an integer of about {digits} digits is over the limit of {MAX_INT_DIGITS} digits"
        )


def check_item_count(count: int, limit: int, what: str) -> None:
    """Fail if ``what`` (a filter) would produce more than ``limit`` items."""
    if count > limit:
        raise limit_exceeded(
            f"{what} would produce {count} items, over the limit of {limit} ({ITERATIONS_VARIABLE})"
        )


def check_depth(value: Any) -> None:
    """Fail if lists and dicts in ``value`` nest more than MAX_DEPTH levels deep.

    A result is serialised (JSON events, the store), which recursion would not survive.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if type(item) is dict else item
        for child in children:
            if type(child) in (list, tuple, dict):
                if depth >= MAX_DEPTH:
                    raise limit_exceeded(
                        f"a value nested more than {MAX_DEPTH} levels deep cannot be stored"
                    )
                stack.append((child, depth + 1))


class RenderBudget:
    """What one top-level render has used so far: iterations (and calls), output."""

    __slots__ = ("iterations", "limits", "output")

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.iterations = 0
        self.output = 0

    def count_iteration(self) -> None:
        """One loop iteration or call; fails past ``max_iterations``."""
        self.iterations += 1
        if self.iterations > self.limits.max_iterations:
            raise limit_exceeded(
                f"over the limit of {self.limits.max_iterations} loop iterations and calls "
                f"in one render ({ITERATIONS_VARIABLE})"
            )

    def count_output(self, size: int) -> None:
        """``size`` more characters of output; fails past ``max_string`` in total."""
        self.output += size
        check_string_size(self.output, self.limits.max_string, "template output")


# --- format widths -------------------------------------------------------------------

# printf-style conversion: %[(name)][flags][width][.precision][length]type
_PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?([diouxXeEfFgGcrsab%])"
)
_DIGITS = re.compile(r"\d+")


def check_percent_format(text: str, args: Any, limit: int) -> None:
    """Fail if ``text % args`` would be longer than ``limit`` (widths and precisions)."""
    if "%" not in text:
        return
    values = list(args) if isinstance(args, tuple) else [args]
    total = len(text)
    for match in _PERCENT_SPEC.finditer(text):
        for number in match.group(1), match.group(2):
            if number == "*":
                value = values.pop(0) if values else 0
                total += value if isinstance(value, int) and value > 0 else 0
            elif number:
                total += int(number)
        if match.group(3) != "%" and values:
            value = values.pop(0)
            if isinstance(value, str):
                total += len(value)
        if total > limit:
            break
    check_string_size(total, limit, "format width")


def check_format_spec(spec: str, limit: int) -> int:
    """The most characters a ``format(value, spec)`` field pads to; fails over ``limit``.

    Every number in the spec is taken as a width or precision (a digit used as the
    fill character only makes the estimate bigger).
    """
    widest = max((int(n) for n in _DIGITS.findall(spec)), default=0)
    check_string_size(widest, limit, "format width")
    return widest

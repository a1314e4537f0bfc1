"""Size checks for the string methods and Jinja2 filters that can build huge strings.

Each check runs *before* the string is built, from the sizes of its inputs, and
raises :func:`~corral.playbook.templating.limits.limit_exceeded`'s error when the result
would be over ``max_string``. Used by
:class:`~corral.playbook.templating.environment.CorralEnvironment`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedFormatter
from jinja2.utils import pass_environment, pass_eval_context

from corral.playbook.templating.limits import (
    TemplateLimits,
    check_format_spec,
    check_percent_format,
    check_string_size,
)

__all__ = [
    "BoundedFormatter",
    "bounded_filters",
    "check_str_call",
    "format_method",
    "joined_size",
    "render_budget",
]

MAX_JSON_INDENT = 64  # an indent repeats on every line of the output


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def joined_size(separator: str, items: list[Any], limit: int) -> None:
    """Fail if ``separator.join(items)`` (items as text) would be over ``limit``."""
    total = len(separator) * max(len(items) - 1, 0)
    check_string_size(total, limit, "joined string")
    for item in items:
        total += len(item) if isinstance(item, str) else len(str(item))
        if total > limit:
            break
    check_string_size(total, limit, "joined string")


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    old_text, new_text = str(old), str(new)
    most = len(text) + 1 if not old_text else text.count(old_text)
    if isinstance(count, int) and count >= 0:
        most = min(most, count)
    return len(text) + most * max(len(new_text) - len(old_text), 0)


def check_str_call(text: str, method: str, args: tuple[Any, ...], limit: int) -> tuple[Any, ...]:
    """Check ``text.method(*args)`` against ``limit``; returns the arguments to call it with.

    ``join`` gets its iterable as a list, so that a generator is not consumed twice.
    """
    if method in ("center", "ljust", "rjust", "zfill") and args:
        check_string_size(max(_int(args[0]), len(text)), limit)
    elif method == "expandtabs":
        tabsize = _int(args[0], 8) if args else 8
        check_string_size(len(text) + text.count("\t") * max(tabsize, 0), limit)
    elif method == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else -1
        check_string_size(_replaced_size(text, args[0], args[1], count), limit)
    elif method == "join" and args:
        items = list(args[0])
        joined_size(text, items, limit)
        return (items, *args[1:])
    elif method == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        check_string_size(len(text) * max(longest, 1), limit)
    return args


class BoundedFormatter(SandboxedFormatter):
    """The sandbox's ``str.format``, refusing widths and results over ``limit``."""

    def __init__(self, env: Any, limit: int) -> None:
        super().__init__(env)
        self._limit = limit
        self._produced = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        """Format one field, counting what the whole call has produced so far."""
        check_format_spec(format_spec, self._limit)
        text = super().format_field(value, format_spec)
        self._produced += len(text)
        check_string_size(self._produced, self._limit, "formatted string")
        return text


def format_method(env: Any, text: str, is_format_map: bool, limit: int) -> Callable[..., str]:
    """A bounded stand-in for ``text.format`` (or ``text.format_map``)."""

    def wrapper(*args: Any, **kwargs: Any) -> str:
        if is_format_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            return str(BoundedFormatter(env, limit).vformat(text, (), args[0]))
        return str(BoundedFormatter(env, limit).vformat(text, args, kwargs))

    return wrapper


def _limits(env: Any) -> TemplateLimits:
    limits: TemplateLimits = env.limits
    return limits


@pass_environment
def _center(env: Any, value: Any, width: int = 80) -> str:
    _limits(env).check_string(_int(width))
    return jinja_filters.do_center(value, width)


@pass_environment
def _indent(
    env: Any, s: Any, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    text = str(s)
    pad = len(width) if isinstance(width, str) else _int(width)
    _limits(env).check_string(len(text) + max(pad, 0) * (text.count("\n") + 1))
    return jinja_filters.do_indent(text, width, first, blank)


@pass_environment
def _format(env: Any, value: Any, *args: Any, **kwargs: Any) -> str:
    check_percent_format(str(value), kwargs or args, _limits(env).max_string)
    return jinja_filters.do_format(value, *args, **kwargs)


@pass_eval_context
def _join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    env = eval_ctx.environment
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(env, attribute), value)
    items = list(value)
    joined_size(str(d), items, _limits(env).max_string)
    return jinja_filters.sync_do_join(eval_ctx, items, d)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text = str(s)
    limit = _limits(eval_ctx.environment).max_string
    check_string_size(_replaced_size(text, old, new, -1 if count is None else count), limit)
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | None = None) -> Any:
    if indent is not None and _int(indent) > MAX_JSON_INDENT:
        check_string_size(_int(indent), MAX_JSON_INDENT, "JSON indent")
    return jinja_filters.do_tojson(eval_ctx, value, indent)


def bounded_filters() -> dict[str, Callable[..., Any]]:
    """Jinja2's string-building filters, with size checks."""
    return {
        "center": _center,
        "indent": _indent,
        "format": _format,
        "join": _join,
        "replace": _replace,
        "tojson": _tojson,
    }


def render_budget(context: Context) -> Any:
    """The :class:`~corral.playbook.templating.limits.RenderBudget` of ``context``'s render."""
    state = getattr(context, "state", None)
    return None if state is None else state.budget

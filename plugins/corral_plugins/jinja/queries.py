"""``json_query``: community.general's JMESPath filter (``community.general.json_query``).

JMESPath (https://jmespath.org) is what Ansible users reach for to pick values out of
nested data: ``users | json_query('[?admin].name')``. The filter runs the ``jmespath``
library, as community.general does, on the value converted to plain data first: the
library checks types by exact class name, so the YAML loader's marked strings and
dicts, ``!unsafe`` text or a ``hostvars`` view would otherwise read as no JSON type at
all (community.general patches the library's type table for Ansible's types instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jmespath
import jmespath.exceptions
from jinja2.runtime import Undefined

from corral import TemplateError
from corral.playbook.templating.templar import Verbatim

__all__ = ["QUERY_FILTERS", "json_query", "plain_data"]

HINT = "see https://jmespath.org/specification.html for the syntax"


def plain_data(value: Any) -> Any:
    """``value`` as the JSON types jmespath knows: dict, list, str, int, float, bool, None.

    Secrets stay wrapped: a query may pick one out, but never reads its text.
    """
    if isinstance(value, Verbatim):
        return plain_data(value.value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return str(value)  # a subclass (marked or !unsafe text) becomes a plain str
    if isinstance(value, Mapping):
        return {plain_data(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_data(item) for item in value]
    return value


def json_query(data: Any, expr: Any) -> Any:
    """The result of the JMESPath expression ``expr`` on ``data`` (None when nothing matches)."""
    if isinstance(data, Undefined):
        data._fail_with_undefined_error()
    if not isinstance(expr, str):
        raise TemplateError(
            f"json_query: the expression must be a string, not {type(expr).__name__}",
            hint=HINT,
        )
    try:
        return jmespath.search(str(expr), plain_data(data))
    except jmespath.exceptions.JMESPathError as exc:
        raise TemplateError(f"json_query {str(expr)!r}: {_reason(exc)}", hint=HINT) from None


def _reason(exc: jmespath.exceptions.JMESPathError) -> str:
    """One line from jmespath's message, which draws the expression with a caret below it."""
    reason = str(exc).splitlines()[0].rstrip(":").removesuffix(", for expression")
    position = getattr(exc, "lex_position", None)
    if isinstance(position, int) and "column" not in reason:
        reason += f" at column {position}"  # counted from 0, as jmespath's own messages do
    return reason


QUERY_FILTERS: dict[str, Callable[..., Any]] = {
    "json_query": json_query,
    # The collection's name, as playbooks checked by ansible-lint write it.
    "community.general.json_query": json_query,
}
"""The JMESPath filter under its short and its collection name."""

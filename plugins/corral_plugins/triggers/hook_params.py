"""The webhook's ``params:``: Jinja2 templates over each delivery, rendered in a sandbox.

::

    params:
      ref: "{{ payload.ref }}"
      sha: "{{ payload.after[:12] }}"
      pusher: "{{ payload.pusher.name | default('unknown') }}"

Each template sees ``payload`` (the JSON body), ``headers`` (names lower-cased),
``event`` and ``delivery``. A lone expression keeps its JSON type (``{{ payload.count }}``
is a number); anything else is text. A value the payload does not have (``payload.ref``
of a tag deletion, ``payload.a.b`` without ``a``) leaves the param out, so the play's
default applies or the server reports the param missing, rather than a run getting an
empty string.

A rendered value that still holds template markers (``{{``, ``{%``, ``{#``) is refused:
corral renders its params when they are used, so a commit message written as
``{{ lookup('pipe', 'id') }}`` would run on the controller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import chain, islice
from typing import Any

import jinja2
from jinja2.nativetypes import NativeCodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment

from corral import HookAnswer

__all__ = ["HookParams"]

_MARKERS = ("{{", "{%", "{#")


class _Missing(jinja2.ChainableUndefined):
    """A value the payload does not have: chains (``a.b.c``), and leaves the param out
    as soon as it is turned into text."""

    __slots__ = ()

    # Text made from a missing value would be a wrong param: fail the render instead.
    __str__ = jinja2.Undefined._fail_with_undefined_error


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, rendering natively: a lone expression keeps its type."""

    code_generator_class = NativeCodeGenerator


def _concat(values: Iterator[Any]) -> Any:
    # Unlike jinja2.nativetypes, no literal_eval: "1.10" stays the text "1.10".
    head = list(islice(values, 2))
    if not head:
        return ""
    if len(head) == 1:
        return head[0]
    return "".join(str(value) for value in chain(head, values))


class HookParams:
    """The compiled ``params:`` of one webhook entry."""

    def __init__(self, templates: Mapping[str, str]) -> None:
        """Compile each template; ValueError ``params.NAME: ...`` for a syntax error."""
        self._env = _Environment(undefined=_Missing, autoescape=False)
        self._templates: dict[str, jinja2.Template] = {}
        for name, text in templates.items():
            try:
                self._templates[name] = self._env.from_string(str(text))
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"params.{name}: {exc.message}") from None

    def render(self, context: Mapping[str, Any]) -> dict[str, Any] | HookAnswer:
        """The params for one delivery, or the refusal when one cannot be made."""
        params: dict[str, Any] = {}
        for name, template in self._templates.items():
            try:
                value = _concat(template.root_render_func(template.new_context(dict(context))))
            except jinja2.UndefinedError:
                continue
            except Exception as exc:  # the author's template failed on this payload
                return HookAnswer(400, f"params.{name}: {exc}")
            if isinstance(value, jinja2.Undefined):
                continue
            plain = _plain(value)
            if plain is _NOT_JSON:
                return HookAnswer(
                    400, f"params.{name}: renders to a {type(value).__name__}, not JSON data"
                )
            if any(marker in text for text in _strings(plain) for marker in _MARKERS):
                return HookAnswer(
                    422,
                    f"params.{name}: the delivery's value holds template markers "
                    "({{, {% or {#), which corral would evaluate; refused",
                )
            params[name] = plain
        return params


_NOT_JSON = object()


def _plain(value: Any) -> Any:
    """``value`` as JSON data (tuples become lists), or ``_NOT_JSON``."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return _NOT_JSON


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)

"""Rendering playbook values with Jinja2: the :class:`Templar`.

One Templar serves a whole run and every worker thread in it. It holds one
sandboxed Jinja2 environment (see :mod:`corral.playbook.templating.environment`) with
Jinja2's built-in filters and tests plus the filters, tests and lookups plugins register
(Ansible's come from the built-in ``jinja`` plugin), and a bounded cache of compiled
templates shared by its :meth:`~Templar.with_search_paths` copies (see
:mod:`corral.playbook.templating.compiled`).

Rendering rules (docs/templating.md is the user-facing reference):

- Strings without ``{{``, ``{%`` or ``{#`` are returned untouched; Jinja never sees them.
- A template that produces one value returns that value (``"{{ port }}"`` is an int);
  text around it makes a string. Nothing is ``literal_eval``-ed.
- Variables whose values are templates are rendered when a template uses them,
  recursively; a cycle is a :class:`~corral.errors.TemplateError` naming it.
  :class:`Verbatim` values are never rendered (use it for data from hosts).
- :class:`~corral.secrets.Secret` values render as their real text.
- Every failure is a :class:`~corral.errors.TemplateError`: undefined names come with
  close matches, and callers can add what was rendered and where.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from jinja2 import meta
from jinja2.runtime import Context
from jinja2.utils import missing

from corral.errors import Location, TemplateError
from corral.playbook.templating.compiled import Compiled
from corral.playbook.templating.content_plugins import ContentPlugins
from corral.playbook.templating.environment import (
    CorralContext,
    Verbatim,
    join_text,
    to_text,
    unwrap,
)
from corral.playbook.templating.errors import RenderFailure, translate
from corral.playbook.templating.function_type import (
    LookupScope,
    TemplateFunction,
    find_file,
    read_bounded,
)
from corral.playbook.templating.limits import RenderBudget, TemplateLimits, check_depth
from corral.playbook.templating.lookups import LOOKUP_GLOBALS, run_lookup
from corral.playbook.yaml.marked import unmark
from corral.secrets import Secret

__all__ = ["OMIT", "Templar", "Verbatim"]

# A condition that renders to one of these strings is true or false, as Ansible's ``bool``.
TRUE_STRINGS = frozenset({"yes", "on", "true", "1"})
FALSE_STRINGS = frozenset({"no", "off", "false", "0"})

_PLAIN = (str, dict, list, tuple)


class _Omit:
    """The value of ``omit``: a task argument rendered to it is left out."""

    def __repr__(self) -> str:
        return "omit"

    def __str__(self) -> str:
        return "__omit_place_holder__"


OMIT: Final = _Omit()
"""``{{ x | default(omit) }}``: :meth:`Templar.render` drops dict entries and list items
that render to this value."""


def _has_markers(text: str) -> bool:
    return "{" in text and ("{{" in text or "{%" in text or "{#" in text)


def _contains_template(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return _has_markers(value)
    if kind is dict:
        return any(_contains_template(k) or _contains_template(v) for k, v in value.items())
    if kind is list or kind is tuple:
        return any(_contains_template(v) for v in value)
    return False


class _RenderState:
    """One top-level render: its variables, rendered-variable memo, cycle guard and budget."""

    __slots__ = ("budget", "resolved", "resolving", "templar", "variables")

    def __init__(self, templar: Templar, variables: Mapping[str, Any]) -> None:
        self.templar = templar
        self.variables = variables
        self.budget = RenderBudget(templar._shared.limits)
        self.resolving: list[str] = []
        self.resolved: dict[str, Any] = {}

    def resolve(self, name: str, value: Any) -> Any:
        """The value of variable ``name`` as templates see it."""
        kind = type(value)
        if kind is Secret or kind is Verbatim:
            return unwrap(value)
        if not _contains_template(value):
            return value
        if name in self.resolved:
            return self.resolved[name]
        if name in self.resolving:
            cycle = [*self.resolving[self.resolving.index(name) :], name]
            failure = RenderFailure(
                "recursive loop in variables",
                " -> ".join(cycle),
                hint="a variable's value refers back to itself through the variables shown",
            )
            failure.names_variables = True
            raise failure
        self.resolving.append(name)
        try:
            rendered = self.templar._render_value(value, self)
        except RenderFailure as exc:
            exc.add_context(variable=name)
            raise
        finally:
            self.resolving.pop()
        self.resolved[name] = rendered
        return rendered

    def run_lookup(
        self,
        context: Context,
        name: str,
        terms: Sequence[Any],
        options: dict[str, Any],
        *,
        wantlist: bool,
    ) -> Any:
        """Run lookup ``name`` in this render (see corral.playbook.templating.lookups)."""
        return self.templar._run_lookup(context, self, name, terms, options, wantlist=wantlist)


class _VariablesView(Mapping[str, Any]):
    """Variables rendered on access, each in their own scope (see Templar.variables_view)."""

    __slots__ = ("_templar", "_variables")

    def __init__(self, templar: Templar, variables: Mapping[str, Any]) -> None:
        self._templar = templar
        self._variables = variables

    def __getitem__(self, name: str) -> Any:
        value = self._variables[name]
        # A fresh state per access: views are shared by every host's thread.
        return _RenderState(self._templar, self._variables).resolve(name, value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)


_GLOBALS: Final[Mapping[str, Any]] = {**LOOKUP_GLOBALS, "omit": OMIT}


class Templar:
    """Renders strings and data with Jinja2 for one run; safe to share between threads.

    :param functions: filters, tests and lookups from plugins (``registry.template_functions``);
        a name that clashes with a Jinja2 built-in or with another plugin's is a
        :class:`PluginLoadError`. Without them only Jinja2's built-ins exist.
    :param search_paths: where ``lookup('file', ...)`` and ``lookup('template', ...)``
        look for relative paths, in order.
    :param environ: what ``lookup('env', ...)`` reads (the ``environ`` attribute);
        ``os.environ`` when None. Its ``CORRAL_TEMPLATE_*`` variables set the
        :class:`TemplateLimits` of every render.
    :param content: where the playbook's own filters and tests are (Ansible's
        ``filter_plugins/``, collections: :mod:`~corral.playbook.templating.content_plugins`).
    """

    def __init__(
        self,
        *,
        functions: Sequence[TemplateFunction] = (),
        search_paths: Sequence[Path] = (),
        environ: Mapping[str, str] | None = None,
        content: ContentPlugins | None = None,
    ) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        limits = TemplateLimits.from_environ(self.environ)
        self._shared = Compiled(functions, _GLOBALS, limits, content)
        self._search_paths = tuple(Path(p) for p in search_paths)

    @property
    def content(self) -> ContentPlugins | None:
        """Where the playbook's own filters and tests are (a shard's worker loads them too)."""
        return self._shared.content

    def with_search_paths(self, paths: Sequence[Path]) -> Templar:
        """A copy looking up files in ``paths``, sharing this one's compiled templates."""
        copy = Templar.__new__(Templar)
        copy._shared = self._shared
        copy._search_paths = tuple(Path(p) for p in paths)
        copy.environ = self.environ
        return copy

    def variables_view(self, variables: Mapping[str, Any]) -> Mapping[str, Any]:
        """A read-only view of ``variables`` rendering each one, in that scope, when read.

        Meant for ``hostvars``: build ``Verbatim({host: templar.variables_view(vars)})``
        so that ``hostvars[h].x`` renders ``x`` with host ``h``'s variables, and only
        the values a template reads are rendered. (A plain dict variable is searched
        for templates in full each time a template uses it.)
        """
        return _VariablesView(self, variables)

    # --- public rendering API --------------------------------------------------

    def render(
        self,
        value: Any,
        variables: Mapping[str, Any],
        *,
        location: Location | None = None,
        what: str | None = None,
    ) -> Any:
        """Render every string in ``value``, walking dicts, lists and tuples.

        Strings are rendered natively (a lone expression keeps its type); dict keys
        are rendered as text; other values pass through unchanged. Dict entries and
        list items that render to ``omit`` are dropped. Containers are new objects.
        """
        state = _RenderState(self, variables)
        try:
            return self._render_value(value, state)
        except RenderFailure as exc:
            exc.add_context(what=what, location=location)
            raise

    def render_string(
        self,
        text: str,
        variables: Mapping[str, Any],
        *,
        native: bool = True,
        location: Location | None = None,
        what: str | None = None,
    ) -> Any:
        """Render one template string; with ``native=False`` the result is always a str.

        A value that is not a str is handed to :meth:`render`.
        """
        if type(text) is not str:
            return self.render(text, variables, location=location, what=what)
        if not _has_markers(text):
            return text
        state = _RenderState(self, variables)
        try:
            return self._render_text(text, state, native=native)
        except RenderFailure as exc:
            exc.add_context(what=what, location=location)
            raise

    def render_file(
        self,
        path: Path,
        variables: Mapping[str, Any],
        *,
        location: Location | None = None,
        what: str | None = None,
    ) -> str:
        """Render a template file (the ``template`` step's ``src``) to text.

        A relative ``path`` is looked up in the search paths. Unlike strings from YAML,
        backslash escapes in ``{{ }}`` string literals are processed, as in Ansible.
        """
        state = _RenderState(self, variables)
        try:
            found = find_file(str(path), self._search_paths)
            text = read_bounded(found, self._shared.limits.max_string)
        except TemplateError as exc:
            raise TemplateError(exc.message, location=location) from exc
        if not _has_markers(text):
            return text
        try:
            return str(self._render_text(text, state, native=False, file=True))
        except RenderFailure as exc:
            exc.add_context(what=what or f"template {str(path)!r}", location=location)
            raise

    def evaluate_condition(
        self,
        expr: Any,
        variables: Mapping[str, Any],
        *,
        location: Location | None = None,
        what: str | None = None,
    ) -> bool:
        """Evaluate a ``when``/``failed_when``/``changed_when``/``until``/``that`` condition.

        ``expr`` is a bare Jinja2 expression (``result.rc == 0``), a bool, None (true),
        or a list whose items must all be true. An expression wrapped whole in
        ``{{ }}`` is accepted; ``{{ }}`` inside an expression is an error. Results that
        are strings follow the ``bool`` filter (``'no'`` is false); other non-empty
        strings and other values use Python truthiness.
        """
        try:
            return self._condition(expr, _RenderState(self, variables))
        except RenderFailure as exc:
            exc.add_context(what=what, location=location)
            raise

    def is_template(self, value: Any) -> bool:
        """``value`` holds ``{{``, ``{%`` or ``{#`` anywhere (in dicts, lists, tuples too)."""
        return _contains_template(value)

    def variables_used(self, text: str, *, expression: bool = False) -> set[str]:
        """Names a template (or, with ``expression``, a bare condition) reads from its variables.

        Names set inside the template and global functions (``lookup``, ``range``, ...)
        are left out. Used by ``corral check`` to warn about unknown variables.
        """
        source = text.strip() if expression else text
        if not expression and not _has_markers(text):
            return set()
        try:
            if expression:
                ast = self._shared.parse_expression(source)
            else:
                ast = self._shared.env.parse(source)
            # find_undeclared_variables compiles: an unknown filter or test fails here.
            names = set(meta.find_undeclared_variables(ast))
        except Exception as exc:
            raise self._failure(exc, (), source) from exc
        return names - set(self._shared.env.globals)

    # --- rendering internals -----------------------------------------------------

    def _render_value(self, value: Any, state: _RenderState) -> Any:
        kind = type(value)
        if kind not in _PLAIN and isinstance(value, str | dict | list):
            # Subclasses (the YAML loader's marked types) render like the plain types.
            value = unmark(value)
            kind = type(value)
        if kind is str:
            return self._render_text(value, state, native=True) if _has_markers(value) else value
        if kind is dict:
            rendered: dict[Any, Any] = {}
            for key, item in value.items():
                new_key = key
                if type(key) is str and _has_markers(key):
                    new_key = self._render_text(key, state, native=False)
                new_item = self._render_value(item, state)
                if new_item is not OMIT:
                    rendered[new_key] = new_item
            return rendered
        if kind is list or kind is tuple:
            items = [self._render_value(item, state) for item in value]
            kept = [item for item in items if item is not OMIT]
            return kept if kind is list else tuple(kept)
        if kind is Verbatim:
            return value.value
        return value

    def _render_text(
        self, text: str, state: _RenderState, *, native: bool, file: bool = False
    ) -> Any:
        shared = self._shared
        try:
            template = (shared.file_templates if file else shared.templates).get(text)
            context = CorralContext(template.environment, state.variables, None, template.blocks)  # type: ignore[arg-type]
            context.state = state
            chunks: list[Any] = [c for c in template.root_render_func(context) if c is not None]
            if native and len(chunks) == 1 and type(chunks[0]) in (list, tuple, dict):
                check_depth(chunks[0])  # a value that serialising would recurse too deep into
        except RenderFailure:
            raise
        except Exception as exc:
            raise self._failure(exc, state.variables, text) from exc
        if native:
            result = _native_result(chunks)
        elif len(chunks) == 1 and type(chunks[0]) is str:
            result = chunks[0]
        else:
            result = join_text(iter(chunks))
        if type(result) is str and text.endswith("\n"):
            # Jinja drops one trailing newline; keep as many as the source had, as Ansible does.
            missing_newlines = _trailing_newlines(text) - _trailing_newlines(result)
            if missing_newlines > 0:
                result += "\n" * missing_newlines
        return result

    def _condition(self, expr: Any, state: _RenderState) -> bool:
        if expr is None or isinstance(expr, bool):
            return expr is not False
        if isinstance(expr, list | tuple):
            return all(self._condition(item, state) for item in expr)
        if isinstance(expr, int | float):
            return bool(expr)
        if not isinstance(expr, str):
            raise RenderFailure(
                f"a condition must be an expression, a boolean or a list, not {type(expr).__name__}"
            )
        source = expr.strip()
        if not source:
            return True
        if source.startswith("{{") and source.endswith("}}"):
            inner = source[2:-2]
            if "{{" not in inner and "}}" not in inner:
                source = inner.strip()
        if _has_markers(source):
            raise RenderFailure(
                "a condition must not contain '{{ }}'",
                source,
                hint="write the expression without braces, e.g. `when: version == wanted` "
                'rather than `when: version == "{{ wanted }}"`',
            )
        try:
            template = self._shared.expressions.get(source)
            context = CorralContext(self._shared.env, state.variables, None, {})  # type: ignore[arg-type]
            context.state = state
            chunks = [c for c in template.root_render_func(context) if c is not None]
        except RenderFailure:
            raise
        except Exception as exc:
            raise self._failure(exc, state.variables, source) from exc
        return _condition_value(chunks[0] if chunks else None)

    # --- lookups --------------------------------------------------------------------

    def _run_lookup(
        self,
        context: Context,
        state: _RenderState,
        name: str,
        terms: Sequence[Any],
        options: dict[str, Any],
        *,
        wantlist: bool,
    ) -> Any:
        def variable(var: str) -> Any:
            value = context.resolve_or_missing(var)
            if value is missing:
                raise KeyError(var)
            return value

        def render_template(text: str, extra: Mapping[str, Any]) -> str:
            inner = _RenderState(self, {**state.variables, **extra}) if extra else state
            return str(self._render_text(text, inner, native=False, file=True))

        scope = LookupScope(
            search_paths=self._search_paths,
            environ=self.environ,
            variable=variable,
            render_template=render_template,
            max_file_size=self._shared.limits.max_string,
        )
        return run_lookup(self._shared.lookups, scope, name, terms, options, wantlist=wantlist)

    def _failure(self, exc: Exception, variables: Iterable[Any], source: str) -> RenderFailure:
        env = self._shared.env
        return translate(
            exc, source=source, variables=variables, filters=env.filters, tests=env.tests
        )


def _native_result(chunks: list[Any]) -> Any:
    if not chunks:
        return None
    if len(chunks) == 1:
        return chunks[0]
    return "".join([c if type(c) is str else to_text(c) for c in chunks])


def _trailing_newlines(text: str) -> int:
    return len(text) - len(text.rstrip("\n"))


def _condition_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_STRINGS:
            return True
        # any other non-empty string is true, as a Jinja2 ``if`` would have it
        return bool(lowered) and lowered not in FALSE_STRINGS
    return bool(value)

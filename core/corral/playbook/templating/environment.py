"""The Jinja2 machinery under :mod:`corral.playbook.templating.templar`.

One sandboxed environment per :class:`~corral.playbook.templating.templar.Templar`, with:

- :class:`CorralUndefined`: strict (printing, comparing or iterating an undefined
  value fails) but chainable, so ``foo.bar is defined`` and ``foo.bar | default(1)``
  work when ``foo`` is missing, as in Ansible.
- :class:`NativeOutputGenerator`: expressions are yielded as Python values, never
  ``str()``-ed, so a template made of one expression gives that expression's value.
- :class:`CorralContext`: variable lookup goes through the render state, which renders
  variables whose values are themselves templates, and reveals secrets.
- :class:`CorralEnvironment`: the sandbox, refusing private attributes loudly instead
  of returning an undefined value, and holding every render to its
  :class:`~corral.playbook.templating.limits.TemplateLimits`: string sizes are checked
  before strings are built (operators, str methods, formats, filters, output), and
  loop iterations and calls are counted against the render's budget.

Nothing here is public API; the Templar is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from types import BuiltinMethodType, MethodType, NoneType
from typing import Any, NoReturn, Protocol

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.lexer import TOKEN_STRING, TOKEN_VARIABLE_BEGIN, TOKEN_VARIABLE_END, Lexer
from jinja2.runtime import ChainableUndefined, Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing, pass_context

from corral.playbook.templating.bounded import (
    bounded_filters,
    check_str_call,
    format_method,
    render_budget,
)
from corral.playbook.templating.limits import (
    RenderBudget,
    TemplateLimits,
    check_int_bits,
    check_percent_format,
)
from corral.secrets import Secret

__all__ = [
    "CorralContext",
    "CorralEnvironment",
    "CorralUndefined",
    "NativeOutputGenerator",
    "UndefinedValue",
    "VariableResolver",
    "Verbatim",
    "YamlValueEnvironment",
    "finalize",
    "join_text",
    "to_text",
    "unwrap",
]

_PLAIN_TYPES = frozenset({str, int, float, bool, NoneType, dict, list, tuple})


class Verbatim:
    """A variable value used as is, never rendered as a template.

    Wrap data produced at run time (registered results, facts, ``set_fact`` values,
    loop items) so that text such as ``{{`` coming from a host is never evaluated.
    Templates see the wrapped value itself.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Verbatim({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verbatim) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("corral.Verbatim", repr(self.value)))


class UndefinedValue(UndefinedError):
    """An undefined variable, attribute or item was used; carries what was missing."""

    def __init__(self, undefined: Undefined) -> None:
        super().__init__(undefined._undefined_message)
        self.name: Any = undefined._undefined_name
        self.obj: Any = undefined._undefined_obj
        self.custom_hint: str | None = undefined._undefined_hint

    @property
    def is_variable(self) -> bool:
        """True when a top-level variable is missing (not an attribute of a value)."""
        return self.obj is missing


class CorralUndefined(ChainableUndefined):
    """Strict about use, chainable on access: only ``defined`` and ``default`` accept it."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UndefinedValue(self)

    # Jinja binds these to its own base method, which cannot say what was missing.
    __iter__ = __str__ = __len__ = __contains__ = _fail_with_undefined_error
    __eq__ = __ne__ = __bool__ = __hash__ = _fail_with_undefined_error
    __add__ = __radd__ = __sub__ = __rsub__ = _fail_with_undefined_error
    __mul__ = __rmul__ = __div__ = __rdiv__ = _fail_with_undefined_error
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _fail_with_undefined_error
    __mod__ = __rmod__ = __pos__ = __neg__ = __call__ = _fail_with_undefined_error
    __lt__ = __le__ = __gt__ = __ge__ = _fail_with_undefined_error
    __int__ = __float__ = __complex__ = __pow__ = __rpow__ = _fail_with_undefined_error


def unwrap(value: Any) -> Any:
    """The value a template sees: secrets revealed, :class:`Verbatim` unwrapped."""
    kind = type(value)
    if kind is Secret:
        return value.reveal()
    if kind is Verbatim:
        return unwrap(value.value)
    return value


def finalize(value: Any) -> Any:
    """Applied to every ``{{ expression }}`` result before it is output."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, Undefined):
        if isinstance(value, CorralUndefined):
            value._fail_with_undefined_error()
        return None  # the implicit else of ``{{ x if y }}``: output nothing
    if isinstance(value, Iterator | KeysView | ValuesView | ItemsView | range):
        # generators, d.keys() and range() would otherwise leak out as opaque objects
        return list(value)
    return unwrap(value)


@pass_context
def finalize_output(context: Context, value: Any) -> Any:
    """:func:`finalize`, counting text output against the render's budget."""
    value = finalize(value)
    if type(value) is str:
        budget = render_budget(context)
        if budget is not None:
            budget.count_output(len(value))
    return value


def to_text(value: Any) -> str:
    """How a value is written when it is part of a larger string."""
    if value is None:
        return ""
    return str(value)


def join_text(chunks: Iterator[Any]) -> str:
    """Join output chunks as text (macro bodies, ``{% set %}`` blocks, text templates)."""
    return "".join([c if type(c) is str else to_text(c) for c in chunks])


class NativeOutputGenerator(CodeGenerator):
    """Generates templates whose expressions are yielded as values, not strings.

    Unlike :class:`jinja2.nativetypes.NativeCodeGenerator`, constant expressions
    are not folded into strings at compile time (``{{ [1, 2] }}`` stays a list,
    ``{{ 1 + 2 }}`` an int) and nothing is ``literal_eval``-ed afterwards, so
    ``{{ '007' }}`` stays the string ``'007'`` as in Ansible 2.19.
    """

    @staticmethod
    def _default_finalize(value: Any) -> Any:
        return value

    def _output_const_repr(self, group: Any) -> str:
        # Template text counts towards the render's output, like expressions do.
        return f"environment.count_text(context, {''.join([str(v) for v in group])!r})"

    def _output_child_to_const(
        self, node: nodes.Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> Any:
        if isinstance(node, nodes.TemplateData):
            return node.as_const(frame.eval_ctx)
        raise nodes.Impossible()

    def _output_child_pre(
        self, node: nodes.Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> None:
        if finalize.src is not None:
            self.write(finalize.src)

    def _output_child_post(
        self, node: nodes.Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> None:
        if finalize.src is not None:
            self.write(")")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # Each pass through the body (recursive loops too) counts one iteration.
        count = nodes.Call(
            nodes.EnvironmentAttribute("count_iteration"),
            [nodes.ContextReference()],
            [],
            None,
            None,
        )
        node.body = [nodes.ExprStmt(count, lineno=node.lineno), *node.body]
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # ``a ~ b``: sizes are checked before the pieces are joined.
        self.write("environment.concat_text((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class VariableResolver(Protocol):
    """What a context asks for a variable's value: the per-render state."""

    budget: RenderBudget

    def resolve(self, name: str, value: Any) -> Any:
        """The value of variable ``name`` as templates see it (rendered, revealed)."""


class CorralContext(Context):
    """A context that reads variables through the render state, without copying them."""

    state: VariableResolver | None = None

    def resolve_or_missing(self, key: str) -> Any:
        local = self.vars
        if key in local:
            return local[key]
        value = self.parent.get(key, missing)
        if value is missing:
            return self.environment.globals.get(key, missing)
        kind = type(value)
        if kind is str and "{" not in value:
            return value  # the common case: plain text, nothing to render
        if kind in (int, bool, float, NoneType):
            return value
        state = self.state
        return unwrap(value) if state is None else state.resolve(key, value)

    def derived(self, locals: dict[str, Any] | None = None) -> Context:
        # Jinja's version copies all variables into a new dict and loses the state;
        # keep the caller's variables as the parent and add only the locals.
        context = CorralContext(self.environment, self.parent, self.name, {})
        context.vars.update(self.vars)
        if locals:
            context.vars.update((k, v) for k, v in locals.items() if v is not missing)
        context.eval_ctx = self.eval_ctx
        context.blocks.update((k, list(v)) for k, v in self.blocks.items())
        context.state = self.state
        return context


class YamlStringLexer(Lexer):
    r"""Keeps backslashes in ``{{ }}`` string literals literal, as Ansible does for YAML values.

    YAML has already processed escapes once: ``regex_replace('(a)', '\1')`` in a
    double-quoted YAML string reaches Jinja as ``''``, which Jinja would turn into
    the character ````. Doubling the backslashes first keeps the ```` the author
    meant. Template files and bare conditions are not affected (as in Ansible).
    """

    def tokeniter(
        self,
        source: str,
        name: str | None,
        filename: str | None = None,
        state: str | None = None,
    ) -> Iterator[tuple[int, str, str]]:
        in_expression = False
        for lineno, kind, value in super().tokeniter(source, name, filename, state):
            if kind == TOKEN_VARIABLE_BEGIN:
                in_expression = True
            elif kind == TOKEN_VARIABLE_END:
                in_expression = False
            elif in_expression and kind == TOKEN_STRING:
                yield lineno, kind, value.replace("\\", "\\\\")
                continue
            yield lineno, kind, value


_SEQUENCES = (str, bytes, list, tuple)


def _result_size(operator: str, left: Any, right: Any) -> int:
    """Items (or characters) in ``left <operator> right`` on sequences, or 0."""
    if operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        return len(left) + len(right)
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(count, int):
                return len(seq) * count
    return 0


def _int_result_bits(operator: str, left: Any, right: Any) -> float:
    """Bits in ``left <operator> right`` on ints, where that can be large, or 0."""
    if type(left) is not int or type(right) is not int:
        return 0.0
    if operator == "*":
        return float(left.bit_length() + right.bit_length())
    if operator == "**" and abs(left) > 1 and right > 0:
        return right * math.log2(abs(left))
    return 0.0


class CorralEnvironment(ImmutableSandboxedEnvironment):
    """The sandboxed environment every corral template is compiled and run in."""

    code_generator_class = NativeOutputGenerator
    context_class = CorralContext
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    limits = TemplateLimits()

    def __init__(self, *args: Any, limits: TemplateLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if limits is not None:
            self.limits = limits

    def concat(self, chunks: Iterator[Any]) -> str:  # type: ignore[override]
        """Join output chunks as text (macro bodies, ``{% set %}`` blocks), bounded."""
        return self.concat_text(tuple(chunks))

    def concat_text(self, pieces: tuple[Any, ...]) -> str:
        """``a ~ b ~ c``, refused when the result would be over ``max_string``."""
        texts = [p if type(p) is str else to_text(p) for p in pieces]
        self.limits.check_string(sum(len(t) for t in texts))
        return "".join(texts)

    def count_iteration(self, context: Context) -> None:
        """One loop iteration in ``context``'s render (generated code calls this)."""
        budget = render_budget(context)
        if budget is not None:
            budget.count_iteration()

    def count_text(self, context: Context, text: str) -> str:
        """Template text being output, counted against the render's budget."""
        budget = render_budget(context)
        if budget is not None:
            budget.count_output(len(text))
        return text

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # Jinja returns an undefined value here, which ``is defined`` would quietly
        # accept; an attempt to reach a private attribute is refused outright.
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` in a template, with secrets revealed."""
        if attribute.startswith("__"):
            # Refused even when the object lacks it: probing for dunders is never benign.
            self.unsafe_undefined(obj, attribute)
        return unwrap(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``obj[argument]`` in a template, with secrets revealed."""
        return unwrap(super().getitem(obj, argument))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse ``*``, ``**``, ``+`` and ``%`` whose result would be too big to build."""
        limit = self.limits.max_string
        if operator == "%" and isinstance(left, str):
            check_percent_format(left, right, limit)
        else:
            what = "string" if isinstance(left, str) or isinstance(right, str) else "list"
            self.limits.check_string(_result_size(operator, left, right), what)
            check_int_bits(_int_result_bits(operator, left, right))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``__obj`` from a template: counted as an iteration, str methods bounded."""
        if getattr(__obj, "__func__", None) is CorralEnvironment.count_iteration:
            return __obj(*args)  # the loop counter does not count itself
        budget = render_budget(__context)
        if budget is not None:
            budget.count_iteration()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(__obj, BuiltinMethodType):
            args = check_str_call(owner, __obj.__name__, args, __self.limits.max_string)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``str.format_map`` with widths and results bounded."""
        if not isinstance(value, MethodType | BuiltinMethodType) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        is_map = value.__name__ == "format_map"
        return format_method(self, str(text), is_map, self.limits.max_string)


class YamlValueEnvironment(CorralEnvironment):
    """The environment for template strings that come from YAML values (see YamlStringLexer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._yaml_lexer = YamlStringLexer(self)

    @property
    def lexer(self) -> Lexer:
        """The backslash-keeping lexer."""
        return self._yaml_lexer


def make_environment(
    *,
    yaml_strings: bool,
    filters: Mapping[str, Callable[..., Any]],
    tests: Mapping[str, Callable[..., Any]],
    globals: Mapping[str, Any],
    limits: TemplateLimits,
) -> CorralEnvironment:
    """A configured environment; it is not changed afterwards, so threads may share it."""
    env_class = YamlValueEnvironment if yaml_strings else CorralEnvironment
    env = env_class(
        limits=limits,
        undefined=CorralUndefined,
        finalize=finalize_output,
        trim_blocks=True,  # Ansible's default, so multi-line templates render alike
        autoescape=False,
        cache_size=0,  # the Templar caches compiled templates itself
        auto_reload=False,
        extensions=["jinja2.ext.loopcontrols"],
    )
    env.filters.update(filters)
    env.filters.update(bounded_filters())  # Jinja2's string builders, size-checked
    env.tests.update(tests)
    env.globals.update(globals)
    return env

"""What a Templar and its copies share: the two environments and the compiled-template caches.

Built once per Templar (so once per run): the filters, tests and lookups are
collected here, never per render.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from jinja2 import nodes
from jinja2.environment import Template
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser

from corral.playbook.templating.content_plugins import ContentPlugins, FunctionTable
from corral.playbook.templating.environment import CorralEnvironment, make_environment
from corral.playbook.templating.function_type import TemplateFunction
from corral.playbook.templating.functions import collect_functions
from corral.playbook.templating.limits import TemplateLimits

__all__ = ["CACHE_SIZE", "Compiled", "TemplateCache"]

CACHE_SIZE = 4096  # compiled templates kept per Templar (and its copies)


class TemplateCache:
    """Compiled templates by source text; bounded, oldest entry evicted first."""

    def __init__(self, compile: Callable[[str], Template], maxsize: int) -> None:
        self._compile = compile
        self._maxsize = maxsize
        self._entries: dict[str, Template] = {}
        self._lock = threading.Lock()

    def get(self, source: str) -> Template:
        """The compiled template for ``source``, compiled on first use."""
        template = self._entries.get(source)
        if template is None:
            # Compiling outside the lock: two threads may compile the same text once each.
            template = self._compile(source)
            with self._lock:
                while len(self._entries) >= self._maxsize:
                    del self._entries[next(iter(self._entries))]
                self._entries[source] = template
        return template


class Compiled:
    """Environments, lookups and compiled caches for ``functions`` and ``globals``.

    ``content``: the filters and tests the playbook's content brings (Ansible's
    ``filter_plugins/``...), over those of plugins.
    """

    def __init__(
        self,
        functions: Sequence[TemplateFunction],
        globals: Mapping[str, Any],
        limits: TemplateLimits,
        content: ContentPlugins | None = None,
    ) -> None:
        filters, tests, self.lookups = collect_functions(functions)
        if content is not None:
            filters.update(content.functions("filter"))
            tests.update(content.functions("test"))
        self.content = content
        self.limits = limits
        # Template strings from YAML and template files differ in one lexing rule
        # (see YamlStringLexer), so each has its own environment and cache.
        self.env: CorralEnvironment = make_environment(
            yaml_strings=True, filters=filters, tests=tests, globals=globals, limits=limits
        )
        self.file_env: CorralEnvironment = make_environment(
            yaml_strings=False, filters=filters, tests=tests, globals=globals, limits=limits
        )
        if content is not None and content.collection_dirs:
            # Collections' filters and tests load when a template first names one.
            for env in (self.env, self.file_env):
                env.filters = cast("Any", FunctionTable(env.filters, "filter", content))
                env.tests = cast("Any", FunctionTable(env.tests, "test", content))
        self.templates = TemplateCache(self.env.from_string, CACHE_SIZE)
        self.file_templates = TemplateCache(self.file_env.from_string, CACHE_SIZE)
        self.expressions = TemplateCache(self._compile_expression, CACHE_SIZE)

    def _compile_expression(self, source: str) -> Template:
        return self.env.from_string(self.parse_expression(source))

    def parse_expression(self, source: str) -> nodes.Template:
        """A bare expression as a template that outputs its value.

        Like Environment.compile_expression, but with an output node, so the value goes
        through finalize (undefined check, secrets) like any template's.
        """
        parser = Parser(self.env, source, state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError(
                f"unexpected {parser.stream.current.value!r} after the expression",
                parser.stream.current.lineno,
            )
        tree = nodes.Template([nodes.Output([expression], lineno=1)], lineno=1)
        tree.set_environment(self.env)
        return tree

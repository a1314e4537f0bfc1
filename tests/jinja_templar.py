"""Templars with the built-in ``jinja`` plugin's filters, tests and lookups, as a run has them."""

from __future__ import annotations

import functools
from typing import Any

from corral.playbook.templating.function_type import TemplateFunction
from corral.playbook.templating.templar import Templar
from corral.plugins import build_registry, make_plugin_manager


@functools.cache
def jinja_functions() -> tuple[TemplateFunction, ...]:
    """What the ``jinja`` plugin registers, loaded through its entry point like any plugin."""
    pm = make_plugin_manager({"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1", "CORRAL_PLUGINS": "jinja"})
    return build_registry(pm).template_functions


def jinja_templar(*, functions: tuple[TemplateFunction, ...] = (), **options: Any) -> Templar:
    """A Templar with Ansible's filters, tests and lookups plus ``functions``."""
    return Templar(functions=(*jinja_functions(), *functions), **options)

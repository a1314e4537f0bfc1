"""The built-in ``jinja`` plugin: Ansible's filters, tests and lookups.

Registered through ``corral_register_filters``, the same hook a third-party plugin
uses: :data:`~corral_plugins.jinja.filters.FILTERS` (``to_json``, ``regex_replace``,
``combine``, ``quote``, ...), :data:`~corral_plugins.jinja.tests.TESTS` (``failed``,
``changed``, ``version``, ``match``, ...) and
:data:`~corral_plugins.jinja.lookups.LOOKUPS` (``env``, ``file``, ``template``, ...).
Jinja2's own filters and tests come with the core; with this plugin disabled,
templates have only those.
"""

from __future__ import annotations

from corral import RegisterTemplateFunction, TemplateFunction, hookimpl
from corral_plugins.jinja.filters import FILTERS
from corral_plugins.jinja.lookups import LOOKUPS
from corral_plugins.jinja.loop_lookups import LOOP_LOOKUPS
from corral_plugins.jinja.tests import TESTS

__all__ = ["corral_register_filters"]


@hookimpl
def corral_register_filters(register: RegisterTemplateFunction) -> None:
    """Register Ansible's filters, tests and lookups."""
    for name, function in FILTERS.items():
        register(TemplateFunction(name, function, "filter"))
    for name, function in TESTS.items():
        register(TemplateFunction(name, function, "test"))
    for name, function in {**LOOKUPS, **LOOP_LOOKUPS}.items():
        register(TemplateFunction(name, function, "lookup", pass_scope=True))

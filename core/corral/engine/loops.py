"""A task's loop items and per-item variables: ``loop:``, ``with_<lookup>`` and ``loop_control``.

``with_X: terms`` is Ansible's ``query('X', *terms)``: the terms are rendered (a
string that renders to a list is the list of terms, anything else is one term),
then handed to the lookup plugin ``X``. So each ``with_*`` form behaves exactly as
the lookup of the same name in a template, and a lookup fixed once is fixed for both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import Location, TemplateError
from corral.playbook.templating.environment import Verbatim

if TYPE_CHECKING:
    from corral.playbook.templating.templar import Templar

__all__ = ["item_variables", "loop_items", "loop_result_extra"]

_QUERY = "{{ query(corral_with_lookup, *corral_with_terms) }}"


def _type_name(value: Any) -> str:
    return {dict: "dict", str: "str", int: "int", float: "float", bool: "bool"}.get(
        type(value), type(value).__name__
    )


def loop_items(
    templar: Templar,
    kind: str,
    value: Any,
    variables: Mapping[str, Any],
    *,
    search_paths: Sequence[Path],
    action: str,
    location: Location,
    what: str,
) -> list[Any]:
    """The items a ``loop`` (``kind`` "loop") or ``with_<lookup>`` value gives for one host."""
    rendered = templar.render(value, variables, location=location, what=what)
    if kind in ("", "loop"):
        if not isinstance(rendered, list | tuple):
            raise TemplateError(
                f"The `loop` value must resolve to a 'list', not {_type_name(rendered)!r}.",
                hint="provide a list of items, or a template resolving to a list "
                "('| dict2items' for a mapping, 'with_items' for one bare item)",
                location=location,
            )
        return list(rendered)
    name = kind.removeprefix("with_")
    terms = list(rendered) if isinstance(rendered, list | tuple) else [rendered]
    paths = list(search_paths)
    if name == "first_found":
        # As Ansible: with_first_found looks in templates/, vars/ or files/ first,
        # after the kind of step it feeds.
        subdir = next((s for s in ("template", "var") if s in action), "file") + "s"
        paths = [path for base in search_paths for path in (base / subdir, base)]
    found = templar.with_search_paths(paths).render_string(
        _QUERY,
        {**variables, "corral_with_lookup": name, "corral_with_terms": Verbatim(terms)},
        location=location,
        what=what,
    )
    return list(found) if isinstance(found, list | tuple) else [found]


def item_variables(
    control: Mapping[str, Any], items: Sequence[Any], index: int, extended: bool, allitems: bool
) -> dict[str, Any]:
    """What one item adds to the task's variables: the loop and index variables, ansible_loop."""
    loop_var = str(control.get("loop_var", "item"))
    out: dict[str, Any] = {loop_var: Verbatim(items[index]), "ansible_loop_var": loop_var}
    index_var = control.get("index_var")
    if index_var:
        out[str(index_var)] = index
        out["ansible_index_var"] = str(index_var)
    if extended:
        out["ansible_loop"] = Verbatim(extended_info(items, index, allitems))
    return out


def extended_info(items: Sequence[Any], index: int, allitems: bool) -> dict[str, Any]:
    """``ansible_loop`` for item ``index``, as ``loop_control.extended`` gives it."""
    length = len(items)
    info: dict[str, Any] = {
        "index": index + 1,
        "index0": index,
        "first": index == 0,
        "last": index + 1 == length,
        "length": length,
        "revindex": length - index,
        "revindex0": length - index - 1,
    }
    if allitems:
        info["allitems"] = list(items)
    if index + 1 < length:
        info["nextitem"] = items[index + 1]
    if index > 0:
        info["previtem"] = items[index - 1]
    return info


def loop_result_extra(item_vars: Mapping[str, Any]) -> dict[str, Any]:
    """What an item's registered result carries besides the loop variable (Ansible's keys)."""
    extra: dict[str, Any] = {}
    index_var = item_vars.get("ansible_index_var")
    if index_var:
        extra[index_var] = item_vars[index_var]
        extra["ansible_index_var"] = index_var
    if "ansible_loop" in item_vars:
        loop = item_vars["ansible_loop"]
        extra["ansible_loop"] = loop.value if isinstance(loop, Verbatim) else loop
    return extra

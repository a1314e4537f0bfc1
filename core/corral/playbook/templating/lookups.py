"""Lookups: ``lookup('name', ...)``, ``query('name', ...)`` and ``q(...)`` in templates.

A built-in lookup is a function ``(scope, terms, options) -> list``; :data:`LOOKUPS`
maps names to them. :func:`run_lookup` applies Ansible's rules for what
``lookup()`` and ``query()`` return and for the ``errors`` option. Plugin lookups
(``TemplateFunction(kind="lookup")``) are called as ``function(*terms, **options)``
and are adapted by :func:`plugin_lookup`.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.errors import TemplateError
from corral.playbook.templating.errors import RenderFailure, did_you_mean

__all__ = [
    "LOOKUPS",
    "Lookup",
    "LookupScope",
    "find_file",
    "plugin_lookup",
    "run_lookup",
]

log = logging.getLogger("corral.templating")


@dataclass(frozen=True)
class LookupScope:
    """What a built-in lookup may use, for the render it is called from."""

    search_paths: Sequence[Path]
    environ: Mapping[str, str]
    variable: Callable[[str], Any]
    """The value of a variable as templates see it; raises KeyError when undefined."""
    render_template: Callable[[str, Mapping[str, Any]], str]
    """Render template text with the current variables plus the given extra ones."""


Lookup = Callable[[LookupScope, list[Any], dict[str, Any]], list[Any]]


def find_file(name: str, search_paths: Sequence[Path]) -> Path:
    """The first ``search_path / name`` that is a file; absolute names are used as given."""
    path = Path(os.path.expanduser(name))
    if path.is_absolute():
        if path.is_file():
            return path
        raise TemplateError(f"file not found: {name}")
    for base in search_paths:
        candidate = base / path
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(p) for p in search_paths) or "(no search paths)"
    raise TemplateError(f"could not find {name!r} (searched: {searched})")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc


def _expect_no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise TemplateError(f"lookup {name!r} takes no options, got {', '.join(options)}")


def _env(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    default = options.pop("default", "")
    _expect_no_options("env", options)
    return [scope.environ.get(str(term), default) for term in terms]


def _file(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    rstrip = options.pop("rstrip", True)
    lstrip = options.pop("lstrip", False)
    _expect_no_options("file", options)
    contents = []
    for term in terms:
        text = _read(find_file(str(term), scope.search_paths))
        if rstrip:
            text = text.rstrip()
        if lstrip:
            text = text.lstrip()
        contents.append(text)
    return contents


def _template(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    extra = options.pop("template_vars", None) or {}
    _expect_no_options("template", options)
    return [
        scope.render_template(_read(find_file(str(term), scope.search_paths)), extra)
        for term in terms
    ]


def _vars(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    has_default = "default" in options
    default = options.pop("default", None)
    _expect_no_options("vars", options)
    values = []
    for term in terms:
        try:
            values.append(scope.variable(str(term)))
        except KeyError:
            if not has_default:
                raise TemplateError(f"undefined variable {term!r}") from None
            values.append(default)
    return values


def _items(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    _expect_no_options("items", options)
    flat: list[Any] = []
    for term in terms:
        flat.extend(term if isinstance(term, list | tuple) else [term])
    return flat


def _list(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    _expect_no_options("list", options)
    return list(terms)


def _dict(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    _expect_no_options("dict", options)
    result: list[Any] = []
    for term in terms:
        if not isinstance(term, Mapping):
            raise TemplateError(f"lookup 'dict' expects a dict, got {type(term).__name__}")
        result.extend({"key": k, "value": v} for k, v in term.items())
    return result


def _indexed_items(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    return [[i, item] for i, item in enumerate(_items(scope, terms, options))]


def _fileglob(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    _expect_no_options("fileglob", options)
    found: list[str] = []
    for term in terms:
        pattern = os.path.expanduser(str(term))
        bases = [Path()] if os.path.isabs(pattern) else scope.search_paths
        for base in bases:
            matches = sorted(p for p in glob.glob(str(base / pattern)) if os.path.isfile(p))
            if matches:
                found.extend(matches)
                break
    return found


def _first_found(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
    files = list(options.pop("files", []))
    paths = [Path(os.path.expanduser(str(p))) for p in options.pop("paths", [])]
    skip = options.pop("skip", False)
    _expect_no_options("first_found", options)
    for term in terms:
        files.extend(term if isinstance(term, list | tuple) else [term])
    search = paths or list(scope.search_paths)
    for name in files:
        try:
            return [str(find_file(str(name), search))]
        except TemplateError:
            continue
    if skip:
        return []
    raise TemplateError(f"none of {', '.join(map(repr, files))} found")


LOOKUPS: dict[str, Lookup] = {
    "env": _env,
    "file": _file,
    "template": _template,
    "vars": _vars,
    "items": _items,
    "list": _list,
    "dict": _dict,
    "indexed_items": _indexed_items,
    "fileglob": _fileglob,
    "first_found": _first_found,
}


def plugin_lookup(function: Callable[..., Any]) -> Lookup:
    """Adapt a plugin's ``function(*terms, **options)`` to the built-in lookup shape."""

    def lookup(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
        result = function(*terms, **options)
        if isinstance(result, list | tuple):
            return list(result)
        return [result]

    return lookup


def run_lookup(
    lookups: Mapping[str, Lookup],
    scope: LookupScope,
    name: str,
    terms: Sequence[Any],
    options: dict[str, Any],
    *,
    wantlist: bool,
) -> Any:
    """Run lookup ``name`` with Ansible's result rules.

    With ``wantlist`` (``query()``), the list of results. Otherwise no result is
    None, one result is that value, several strings are joined with commas and
    anything else is the list. ``errors='ignore'`` or ``'warn'`` turns a failure
    into that empty result.
    """
    errors = options.pop("errors", "strict")
    if errors not in ("strict", "warn", "ignore"):
        raise TemplateError(f"lookup {name!r}: errors must be strict, warn or ignore")
    lookup = lookups.get(name)
    if lookup is None:
        raise RenderFailure(f"unknown lookup {name!r}", hint=did_you_mean(name, lookups))
    try:
        results = lookup(scope, list(terms), options)
    except Exception as exc:
        if errors == "strict":
            if isinstance(exc, TemplateError):
                raise RenderFailure(f"lookup({name!r}) failed", exc.message, hint=exc.hint) from exc
            detail = f"{type(exc).__name__}: {exc}"
            raise RenderFailure(f"lookup({name!r}) failed", detail) from exc
        if errors == "warn":
            log.warning("lookup(%r) failed: %s", name, exc)
        return [] if wantlist else None
    if wantlist:
        return results
    if not results:
        return None
    if len(results) == 1:
        return results[0]
    if all(isinstance(r, str) for r in results):
        return ",".join(results)
    return results

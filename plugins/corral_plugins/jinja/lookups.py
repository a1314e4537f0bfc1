"""Ansible's lookups: ``env``, ``file``, ``template``, ``vars``, ``fileglob``, ``pipe``, ...

Each is registered as ``TemplateFunction(kind="lookup", pass_scope=True)``, so the
core calls it as ``lookup(scope, *terms, **options)`` with the render's
:class:`~corral.LookupScope` (search paths, environment, variables) and it returns
the list of results. The core applies Ansible's rules to that list (``lookup()``
joins strings with commas, ``query()`` keeps the list, ``errors=`` ...).
"""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from corral import LookupScope, TemplateError

__all__ = ["LOOKUPS"]


def _expect_no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise TemplateError(f"lookup {name!r} takes no options, got {', '.join(options)}")


def env(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The values of environment variables (``default`` for unset ones)."""
    default = options.pop("default", "")
    _expect_no_options("env", options)
    return [scope.environ.get(str(term), default) for term in terms]


def file(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The contents of files found in the search paths."""
    rstrip = options.pop("rstrip", True)
    lstrip = options.pop("lstrip", False)
    _expect_no_options("file", options)
    contents = []
    for term in terms:
        text = scope.read_text(scope.find_file(str(term)))
        if rstrip:
            text = text.rstrip()
        if lstrip:
            text = text.lstrip()
        contents.append(text)
    return contents


def template(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """Template files found in the search paths, rendered with the current variables."""
    extra = options.pop("template_vars", None) or {}
    _expect_no_options("template", options)
    found = [scope.read_text(scope.find_file(str(term))) for term in terms]
    return [scope.render_template(text, extra) for text in found]


def variables(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The values of variables, rendered as templates see them."""
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


def items(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The terms, lists among them flattened one level."""
    _expect_no_options("items", options)
    flat: list[Any] = []
    for term in terms:
        flat.extend(term if isinstance(term, list | tuple) else [term])
    return flat


def as_list(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The terms as they are."""
    _expect_no_options("list", options)
    return list(terms)


def dict_items(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """``{'key': k, 'value': v}`` for each entry of each dict."""
    _expect_no_options("dict", options)
    result: list[Any] = []
    for term in terms:
        if not isinstance(term, Mapping):
            raise TemplateError(f"lookup 'dict' expects a dict, got {type(term).__name__}")
        result.extend({"key": k, "value": v} for k, v in term.items())
    return result


def indexed_items(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """``[index, item]`` for each item of ``items``."""
    return [[i, item] for i, item in enumerate(items(scope, *terms, **options))]


def fileglob(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """Files matching each pattern, looked for as Ansible does: in ``files/``, then beside it."""
    _expect_no_options("fileglob", options)
    found: list[str] = []
    for term in terms:
        pattern = os.path.expanduser(str(term))
        directory, name = os.path.split(pattern)
        for base in _glob_dirs(scope, directory):
            matches = sorted(p for p in glob.glob(str(base / name)) if os.path.isfile(p))
            if matches:
                found.extend(matches)
                break
    return found


def _glob_dirs(scope: LookupScope, directory: str) -> list[Path]:
    """Where a fileglob pattern is matched: each search path's ``files/`` and itself, or
    the first of those holding ``directory`` when the pattern names one."""
    if not directory:
        return [path for base in scope.search_paths for path in (base / "files", base)]
    if os.path.isabs(directory):
        return [Path(directory)]
    for base in scope.search_paths:
        for candidate in (base / "files" / directory, base / directory):
            if os.path.exists(candidate):
                return [candidate]
    return []


def first_found(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The path of the first of the named files that exists (``files``, ``paths``, ``skip``)."""
    settings = {
        "files": options.pop("files", []),
        "paths": options.pop("paths", []),
        "skip": options.pop("skip", False),
    }
    _expect_no_options("first_found", options)
    candidates = _first_found_candidates(list(terms) or [settings["files"]], settings)
    for name in candidates:
        try:
            return [str(scope.find_file(os.path.expanduser(name)))]
        except TemplateError:
            continue
    if settings["skip"] is True or str(settings["skip"]).lower() in ("yes", "true", "on", "1"):
        return []
    tried = ", ".join(map(repr, candidates)) or "no names given"
    raise TemplateError(f"No file was found when using first_found (tried {tried}).")


def _first_found_candidates(terms: list[Any], settings: dict[str, Any]) -> list[str]:
    """Each file name joined to each of its ``paths``, in order, as Ansible lists them."""
    candidates: list[str] = []
    for term in terms:
        if isinstance(term, Mapping):
            # A dict term carries its own files, paths and skip (the last one's skip counts).
            settings.update(
                files=term.get("files", []),
                paths=term.get("paths", []),
                skip=term.get("skip", False),
            )
            files = _split_on(settings["files"], ",;")
        elif isinstance(term, str):
            files = [term]
        elif isinstance(term, list | tuple):
            candidates.extend(_first_found_candidates(list(term), settings))
            continue
        else:
            raise TemplateError(
                "Invalid term supplied. A string, dict or list is required, "
                f"not {type(term).__name__!r}."
            )
        paths = _split_on(settings["paths"], ",:;")
        if paths:
            candidates.extend(os.path.join(path, name) for path in paths for name in files)
        else:
            candidates.extend(files)
    return candidates


CONTROLLER_TIMEOUT = 300.0  # seconds a pipe or lines command may take; Ansible waits for ever


def pipe(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """Run each term as a shell command on the controller; its stdout, right-stripped.

    As Ansible's ``pipe``: through ``/bin/sh``, from the playbook's directory, and a
    non-zero exit is an error. ``timeout`` (seconds) bounds each command.
    """
    timeout = float(options.pop("timeout", CONTROLLER_TIMEOUT))
    _expect_no_options("pipe", options)
    return [run_on_controller(scope, "pipe", str(t), timeout).rstrip() for t in terms]


def run_on_controller(scope: LookupScope, lookup: str, command: str, timeout: float) -> str:
    """The stdout of ``/bin/sh -c command`` in the playbook's directory; non-zero exit: error."""
    cwd = scope.search_paths[-1] if scope.search_paths else None  # the playbook's directory
    where = f"lookup_plugin.{lookup}({command})"
    try:
        # A session of its own, so a timeout ends what the shell started too.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=dict(scope.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise TemplateError(f"{where} could not run: {exc}") from exc
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise TemplateError(f"{where} timed out after {timeout:g} s") from exc
    if proc.returncode != 0:
        raise TemplateError(f"{where} returned {proc.returncode}")
    return stdout.decode(errors="replace")


def _split_on(value: Any, separators: str) -> list[str]:
    """A list as given, or a string split on any of ``separators`` (Ansible's older form)."""
    if isinstance(value, str):
        return [part for part in re.split(f"[{re.escape(separators)}]", value) if part]
    return [str(item) for item in value or ()]


LOOKUPS: dict[str, Callable[..., list[Any]]] = {
    "env": env,
    "file": file,
    "template": template,
    "vars": variables,
    "items": items,
    "list": as_list,
    "dict": dict_items,
    "indexed_items": indexed_items,
    "fileglob": fileglob,
    "first_found": first_found,
    "pipe": pipe,
}

"""Ansible's Jinja2 filters and tests that come with the content, as Python files.

Ansible finds them, and so does corral:

- in ``filter_plugins/`` and ``test_plugins/`` beside the playbook and in each role its
  plays use, then in the directories ``ansible.cfg`` names (``filter_plugins`` and
  ``test_plugins`` in ``[defaults]``, or ``ANSIBLE_FILTER_PLUGINS``/``ANSIBLE_TEST_PLUGINS``):
  every ``*.py`` file there, loaded when the run's templates are set up;
- in installed collections (``collections/ansible_collections/NS/COLL/plugins/filter/``
  beside the playbook, then the collections path), under their full names
  ``NS.COLL.NAME``: a collection's files are loaded when a template first names one.

A file defines ``FilterModule`` with ``filters()`` or ``TestModule`` with ``tests()``,
each returning a name -> function dict, as for Ansible. These files are code of the
project, run when loaded, as ansible-playbook runs them: trust them as its shell tasks.
Where two define one name, the first found wins; a content function hides a plugin's
function of that name, as an adjacent Ansible plugin hides a built-in one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from corral.errors import Location, TemplateError

if TYPE_CHECKING:
    from corral.playbook.model import Playbook

__all__ = ["ContentPlugins", "FunctionTable", "content_plugins"]

Kind = Literal["filter", "test"]
_CLASS = {"filter": ("FilterModule", "filters"), "test": ("TestModule", "tests")}


@dataclass(frozen=True)
class ContentPlugins:
    """Where a run's content filters and tests are: plain directories and collections.

    Plain paths, so that a shard sent to a worker finds the same files there.
    """

    filter_dirs: tuple[Path, ...] = ()
    test_dirs: tuple[Path, ...] = ()
    collection_dirs: tuple[Path, ...] = ()

    def dirs(self, kind: Kind) -> tuple[Path, ...]:
        return self.filter_dirs if kind == "filter" else self.test_dirs

    def functions(self, kind: Kind) -> dict[str, Callable[..., Any]]:
        """Every filter (or test) of the plain directories, the first found of each name."""
        found: dict[str, Callable[..., Any]] = {}
        for directory in self.dirs(kind):
            for path in _python_files(directory):
                for name, function in _load_functions(path, kind).items():
                    found.setdefault(name, function)
        return found

    def from_collection(self, name: str, kind: Kind) -> Callable[..., Any] | None:
        """The filter (or test) ``NS.COLL.NAME`` of an installed collection, if any."""
        parts = name.split(".")
        if len(parts) != 3 or not all(parts):
            return None
        namespace, collection, short = parts
        for base in self.collection_dirs:
            directory = base / "ansible_collections" / namespace / collection / "plugins" / kind
            for path in _python_files(directory):
                function = _load_functions(path, kind).get(short)
                if function is not None:
                    return function
        return None


def content_plugins(
    playbook: Playbook,
    environ: Mapping[str, str],
    *,
    filter_dirs: Sequence[Path] = (),
    test_dirs: Sequence[Path] = (),
) -> ContentPlugins:
    """Where ``playbook``'s content filters and tests are looked for, in Ansible's order.

    ``filter_dirs`` and ``test_dirs`` are ``ansible.cfg``'s ``filter_plugins`` and
    ``test_plugins`` (or ``ANSIBLE_FILTER_PLUGINS``...: :mod:`corral.ansible_cfg`).
    """
    from corral.playbook.roles.search import collection_dirs

    homes = [playbook.base_dir, *_role_dirs(playbook)]

    def existing(name: str, configured: Sequence[Path]) -> tuple[Path, ...]:
        candidates = [home / name for home in homes] + [p.expanduser() for p in configured]
        return tuple(d for d in dict.fromkeys(candidates) if d.is_dir())

    return ContentPlugins(
        filter_dirs=existing("filter_plugins", filter_dirs),
        test_dirs=existing("test_plugins", test_dirs),
        collection_dirs=tuple(collection_dirs(playbook.base_dir, environ)),
    )


class FunctionTable(dict[str, Callable[..., Any]]):
    """An environment's filters (or tests): a full name not yet known is looked up in the
    installed collections the first time a template uses it, then kept."""

    def __init__(self, functions: Mapping[str, Any], kind: Kind, content: ContentPlugins) -> None:
        super().__init__(functions)
        self._kind: Kind = kind
        self._content = content
        self._missing: set[str] = set()
        self._lock = threading.Lock()

    def __missing__(self, name: str) -> Callable[..., Any]:
        function = self._find(name)
        if function is None:
            raise KeyError(name)
        return function

    def get(self, name: str, default: Any = None) -> Any:
        # Jinja2 asks with get() while compiling and calling; dict.get skips __missing__.
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def _find(self, name: str) -> Callable[..., Any] | None:
        if "." not in name or name in self._missing:
            return None
        with self._lock:
            function = self._content.from_collection(name, self._kind)
            if function is None:
                self._missing.add(name)
            else:
                self[name] = function
        return function


# -- loading files ----------------------------------------------------------------------

_loaded: dict[tuple[str, int, int], dict[str, dict[str, Callable[..., Any]]]] = {}
_loading = threading.Lock()


def _python_files(directory: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [
        directory / name
        for name in names
        if name.endswith(".py") and not name.startswith(("_", ".")) and (directory / name).is_file()
    ]


def _load_functions(path: Path, kind: Kind) -> dict[str, Callable[..., Any]]:
    """The filters (or tests) ``path`` defines, loading it once per version of the file."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _loading:
        if key not in _loaded:
            _loaded[key] = _load_file(path)
        return _loaded[key].get(kind, {})


def _load_file(path: Path) -> dict[str, dict[str, Callable[..., Any]]]:
    digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:12]
    module_name = f"corral_content_plugins.{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise TemplateError(f"cannot load {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # for pickling and dataclasses in the file
    try:
        spec.loader.exec_module(module)
        return {kind: _declared(module, kind, path) for kind in ("filter", "test")}
    except TemplateError:
        raise
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise _load_error(path, exc) from None


def _declared(module: Any, kind: Kind, path: Path) -> dict[str, Callable[..., Any]]:
    class_name, method = _CLASS[kind]
    plugin_class = getattr(module, class_name, None)
    if plugin_class is None:
        return {}
    declared = getattr(plugin_class(), method)()
    if not isinstance(declared, Mapping):
        raise TemplateError(
            f"{path}: {class_name}.{method}() returned {type(declared).__name__}, not a dict",
            hint=f"return a dict of {kind} name -> function, as for Ansible",
        )
    return {str(name): fn for name, fn in declared.items() if callable(fn)}


def _load_error(path: Path, exc: BaseException) -> TemplateError:
    """One line for a plugin file that fails to load, at its line when one is known."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames: Iterable[traceback.FrameSummary] = traceback.extract_tb(exc.__traceback__)
        here = os.path.realpath(path)
        lines = [f.lineno for f in frames if os.path.realpath(f.filename) == here]
        line = lines[-1] if lines else None
    location = Location(str(path), line, None) if line else None
    hint = "fix the plugin file, or remove it if the playbooks do not use it"
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "ansible":
        hint = "it needs Ansible's Python package: pip install ansible-core beside corral"
    return TemplateError(
        f"cannot load plugin file {path.name}: {type(exc).__name__}: {exc}",
        hint=hint,
        location=location,
    )


def _role_dirs(playbook: Playbook) -> list[Path]:
    """The directory of every role the playbook's plays use, in order of first use."""
    from corral.playbook.model import Block, Include, Task

    found: dict[Path, None] = {}

    def walk(nodes: Iterable[Any]) -> None:
        for node in nodes:
            role = getattr(node, "role", None)
            scopes = [role, *(role.parents if role else ())]
            for scope in scopes:
                if scope is not None:
                    found.setdefault(scope.path, None)
            if isinstance(node, Block):
                walk((*node.block, *node.rescue, *node.always))
            elif isinstance(node, Include) and node.tasks:
                walk(node.tasks)
            elif isinstance(node, Task) and node.rollback:
                walk(node.rollback)

    for play in playbook.plays:
        walk((*play.pre_tasks, *play.tasks, *play.post_tasks, *play.handlers, *play.rollback))
    return list(found)

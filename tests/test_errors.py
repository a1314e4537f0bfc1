"""The error tree drawn in ``corral.errors``' docstring names every exception class."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import corral
import corral_plugins
from corral import errors
from corral.errors import CorralError


def _import_all(package: ModuleType) -> list[ModuleType]:
    """Import every module of ``package`` (not ``__main__``, which runs the CLI)."""
    modules = [package]
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        modules.append(importlib.import_module(info.name))
    return modules


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def _drawn(name: str) -> bool:
    """True when the docstring tree has a line whose class name is ``name``."""
    doc = errors.__doc__ or ""
    return any(line.lstrip(" │├└─").split(" ", 1)[0] == name for line in doc.splitlines())


def test_every_corral_error_is_drawn_in_the_tree() -> None:
    _import_all(corral)
    _import_all(corral_plugins)
    ours = {
        cls
        for cls in _subclasses(CorralError)
        if cls.__module__.split(".")[0] in {"corral", "corral_plugins"}
    }
    assert len(ours) >= 10
    missing = sorted(cls.__qualname__ for cls in ours if not _drawn(cls.__name__))
    assert missing == [], f"draw these in the corral.errors docstring: {missing}"


def test_every_exception_class_is_drawn_in_the_tree() -> None:
    # Exceptions that do not derive from CorralError (a Jinja2 subclass) are drawn too.
    defined = {
        obj
        for module in [*_import_all(corral), *_import_all(corral_plugins)]
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
    }
    missing = sorted(cls.__qualname__ for cls in defined if not _drawn(cls.__name__))
    assert missing == [], f"draw these in the corral.errors docstring: {missing}"


def test_the_tree_draws_no_class_that_does_not_exist() -> None:
    _import_all(corral)
    _import_all(corral_plugins)
    names = {cls.__name__ for cls in _subclasses(CorralError)}
    names |= {"CorralError", "UndefinedValue", "JSONTooDeep", "AsyncStarted"}
    drawn = [
        line.lstrip(" │├└─").split(" ", 1)[0]
        for line in (errors.__doc__ or "").splitlines()
        if line.lstrip().startswith(("├", "└", "CorralError"))
    ]
    assert "StoreError" in drawn
    assert [name for name in drawn if name not in names] == []

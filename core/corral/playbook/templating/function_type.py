"""Template functions that plugins add to the Jinja2 environment, and what lookups get."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from corral.errors import TemplateError

__all__ = ["LookupScope", "TemplateFunction", "find_file"]


@dataclass(frozen=True)
class TemplateFunction:
    """A Jinja2 filter (``{{ x | name }}``), test (``x is name``) or lookup (``lookup('n', ...)``).

    A lookup function is called as ``function(*terms, **options)``, or, with
    ``pass_scope=True``, as ``function(scope, *terms, **options)`` where ``scope`` is
    the :class:`LookupScope` of the render (search paths, environment, variables).
    It returns the looked-up value, or a list or tuple of values.
    """

    name: str
    function: Callable[..., Any]
    kind: Literal["filter", "test", "lookup"] = "filter"
    plugin: str = field(default="", compare=False)
    pass_scope: bool = False
    """Lookups only: pass the render's :class:`LookupScope` as the first argument."""


def find_file(name: str, search_paths: Sequence[Path]) -> Path:
    """The first ``search_path / name`` that is a file; absolute names are used as given."""
    # os.path.isfile, not Path.is_file: it answers False for a name no file can have
    # (too long, a NUL byte) where Path.is_file raises.
    path = Path(os.path.expanduser(name))
    if path.is_absolute():
        if os.path.isfile(path):
            return path
        raise TemplateError(f"file not found: {name}")
    for base in search_paths:
        candidate = base / path
        if os.path.isfile(candidate):
            return candidate
    searched = ", ".join(str(p) for p in search_paths) or "(no search paths)"
    raise TemplateError(f"could not find {name!r} (searched: {searched})")


def read_bounded(path: Path, limit: int) -> str:
    """The UTF-8 text of ``path``, refused when the file is over ``limit`` bytes."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise TemplateError(
                f"unsafe template operation refused: {path} has {size} bytes, over the limit "
                f"of {limit} (CORRAL_TEMPLATE_MAX_STRING)"
            )
        from corral.vault import VaultError, decrypt_if_vault

        # As Ansible's file lookup and template source: vault-encrypted files are decrypted.
        try:
            return decrypt_if_vault(path.read_bytes(), str(path)).decode("utf-8")
        except VaultError as exc:
            raise TemplateError(exc.message, hint=exc.hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True)
class LookupScope:
    """What a lookup registered with ``pass_scope=True`` gets first: the render it runs in."""

    search_paths: Sequence[Path]
    """Where relative file names are looked up, in order (the playbook's directory, ...)."""
    environ: Mapping[str, str]
    """The run's environment (``os.environ`` unless the Templar was given another)."""
    variable: Callable[[str], Any]
    """The value of a variable as templates see it; raises KeyError when undefined."""
    render_template: Callable[[str, Mapping[str, Any]], str]
    """Render template-file text with the current variables plus the given extra ones."""
    max_file_size: int = 10_000_000
    """Bytes a lookup may read from one file (the render's string limit)."""

    def read_text(self, path: Path) -> str:
        """The UTF-8 text of ``path``; a TemplateError if unreadable or over ``max_file_size``."""
        return read_bounded(path, self.max_file_size)

    def find_file(self, name: str, search_paths: Sequence[Path] | None = None) -> Path:
        """The first file ``name`` in ``search_paths`` (the scope's own by default).

        Raises :class:`~corral.errors.TemplateError` naming the paths searched.
        """
        return find_file(name, self.search_paths if search_paths is None else search_paths)

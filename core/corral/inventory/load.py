"""Loading an inventory: choosing the sources, reading each one, attaching variable files.

Every reader is an :class:`~corral.inventory.source.InventorySourceType` registered by a
plugin, corral's own (INI, YAML, script, host list) by the built-in ``inventory`` plugin;
the registry lists them in the order they are tried (see ``docs/plugins.md``). Each
``-i`` source is offered to every reader in that order; a directory that no reader takes
is read entry by entry, each entry the same way. The first reader that parses a source
wins; if every reader that wanted it fails, the error of the first that claims it is
raised (:attr:`InventorySourceType.claims`). Unlike Ansible, which warns and goes on,
corral stops at a source it cannot read, and a :class:`SourceClaimError` is final.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from corral.errors import CorralError, InventoryError, Location
from corral.inventory.directory import directory_entries
from corral.inventory.model import Inventory
from corral.inventory.source import InventorySourceType, SourceClaimError
from corral.inventory.varfiles import VarsDir

__all__ = ["default_sources", "load_inventory"]


def load_inventory(
    sources: Sequence[str],
    *,
    plugin_sources: Sequence[InventorySourceType] = (),
    playbook_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Inventory:
    """Read ``sources`` (what ``-i`` gave, in order) into one finished :class:`Inventory`.

    ``plugin_sources`` are the readers to try, in order (``Registry.inventory_sources``).

    With no sources: ``CORRAL_INVENTORY`` (comma-separated paths) from ``environ``,
    else ``./inventory/`` under ``cwd`` if it is a directory, else nothing but the
    implicit ``localhost``. ``group_vars/`` and ``host_vars/`` next to each source,
    and next to ``playbook_dir`` (which take precedence), add variables.
    Raises :class:`~corral.errors.InventoryError` for a source that cannot be read.
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else Path(cwd)
    readers = tuple(plugin_sources)
    chosen = list(sources) or default_sources(env, base)
    inventory = Inventory(cwd=base, environ=env)
    vars_dirs: dict[str, VarsDir] = {}
    for given in chosen:
        source = _resolve(str(given), base)
        _read_source(source, inventory, readers)
        directory = _vars_base(source)
        if directory is not None:
            # One entry per source, repeats included: a later source's files win.
            vars_dir = vars_dirs.setdefault(directory, VarsDir(directory, inventory.warn))
            inventory.vars_dirs.append(vars_dir)
    if not chosen:
        inventory.warn(
            "no inventory given (-i), in CORRAL_INVENTORY or in ./inventory/; "
            "only the implicit localhost is available"
        )
    if playbook_dir is not None:
        inventory.playbook_vars = VarsDir(str(base / playbook_dir), inventory.warn)
    inventory.finish()
    return inventory


def default_sources(environ: Mapping[str, str], cwd: Path) -> list[str]:
    """The sources used when ``-i`` is not given (see :func:`load_inventory`)."""
    configured = environ.get("CORRAL_INVENTORY", "")
    if configured.strip():
        return [part.strip() for part in configured.split(",") if part.strip()]
    default = cwd / "inventory"
    return [str(default)] if default.is_dir() else []


def _resolve(source: str, cwd: Path) -> str:
    """An absolute path for a path source; other strings (host lists, URLs) as given."""
    if "\0" in source:  # no path can hold one (os.path.expanduser raises); a reader decides
        return source
    path = os.path.normpath(os.path.join(cwd, os.path.expanduser(source)))
    return path if os.path.exists(path) else source


def _vars_base(source: str) -> str | None:
    if not os.path.exists(source):
        return None
    return source if os.path.isdir(source) else os.path.dirname(source)


def _read_source(
    source: str, inventory: Inventory, readers: tuple[InventorySourceType, ...]
) -> None:
    failures: list[tuple[InventorySourceType, InventoryError]] = []
    if _try_readers(source, inventory, readers, failures):
        return
    if failures:
        raise _likeliest(source, failures)
    if not readers:
        raise InventoryError(
            f"no inventory source type can read {source!r}: no plugin registered one",
            hint="corral's readers come from its built-in 'inventory' plugin; unset "
            "CORRAL_DISABLE_PLUGIN_AUTOLOAD, add 'inventory' to CORRAL_PLUGINS, or take "
            "'inventory' out of CORRAL_DISABLE_PLUGINS",
        )
    if os.path.isdir(source):
        for entry in directory_entries(source):
            _read_source(entry, inventory, readers)
        return
    if not os.path.exists(source):
        raise InventoryError(
            f"inventory source {source!r} not found",
            hint="give -i a file, a directory, an executable script or a host list "
            "such as 'web1,web2,'",
        )
    raise InventoryError(
        "no inventory reader accepts this source",
        location=Location(source),
        hint="inventories are INI, YAML or JSON files, directories, or executable scripts",
    )


def _try_readers(
    source: str,
    inventory: Inventory,
    readers: tuple[InventorySourceType, ...],
    failures: list[tuple[InventorySourceType, InventoryError]],
) -> bool:
    """Offer ``source`` to each reader in turn; True once one has parsed it."""
    for reader in readers:
        try:
            wanted = reader.verify(source)
        except Exception:  # a reader that cannot tell does not want it (as in Ansible)
            wanted = False
        if not wanted:
            continue
        inventory.current_source = source
        try:
            reader.parse(source, inventory)
            return True
        except InventoryError as exc:
            if exc.location is None:
                exc.location = Location(source)
            if isinstance(exc, SourceClaimError):
                raise
            failures.append((reader, exc))
        except CorralError:
            raise  # already one line for the user, such as a bad setting
        except Exception as exc:
            failures.append((reader, _plugin_failure(reader, source, exc)))
        finally:
            inventory.current_source = None
    return False


def _plugin_failure(reader: InventorySourceType, source: str, exc: Exception) -> InventoryError:
    error = InventoryError(
        f"inventory source {reader.name!r} from plugin {reader.plugin or '?'} failed: "
        f"{type(exc).__name__}: {exc}",
        location=Location(source),
    )
    error.__cause__ = exc
    return error


def _likeliest(
    source: str, failures: list[tuple[InventorySourceType, InventoryError]]
) -> InventoryError:
    """The error of the first reader that claims ``source``, else of the first that failed."""
    for reader, error in failures:
        try:
            claimed = reader.claims is None or reader.claims(source)
        except Exception:  # as for verify: a reader that cannot tell does not claim it
            claimed = False
        if claimed:
            return error
    return failures[0][1]

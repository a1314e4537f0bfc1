"""Loading an inventory: choosing the sources, reading each one, attaching variable files.

Each ``-i`` source is offered to the readers registered by plugins first, then,
if it is a directory, each entry in it is read the same way, and otherwise the
built-in readers try it in Ansible's order: host list, script, YAML, INI. The
first reader that parses the source wins; if every reader that wanted it
fails, the error of the most likely one is raised (a plugin's, else the YAML
reader's for a YAML-looking file, else the INI reader's). Unlike Ansible, which
warns and goes on, corral stops at a source it cannot read, and the error of a
script that starts with ``#!`` is final: its code is not then read as INI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from corral.errors import InventoryError, Location, UsageError
from corral.inventory.directory import directory_entries
from corral.inventory.hostlist import HOST_LIST_SOURCE
from corral.inventory.ini import INI_SOURCE
from corral.inventory.model import Inventory
from corral.inventory.script import DEFAULT_SCRIPT_TIMEOUT, script_source
from corral.inventory.source import InventorySourceType
from corral.inventory.varfiles import VarsDir
from corral.inventory.yamlsource import YAML_EXTENSIONS, YAML_SOURCE
from corral.playbook.yaml.read import first_line

__all__ = ["builtin_sources", "default_sources", "load_inventory"]

_YAML_LINE = re.compile(r"^(?:---|\{|[^\s\[=#;][^=]*:(?:\s|$))")


def load_inventory(
    sources: Sequence[str],
    *,
    plugin_sources: Sequence[InventorySourceType] = (),
    playbook_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Inventory:
    """Read ``sources`` (what ``-i`` gave, in order) into one finished :class:`Inventory`.

    With no sources: ``CORRAL_INVENTORY`` (comma-separated paths) from ``environ``,
    else ``./inventory/`` under ``cwd`` if it is a directory, else nothing but the
    implicit ``localhost``. ``group_vars/`` and ``host_vars/`` next to each source,
    and next to ``playbook_dir`` (which take precedence), add variables.
    Raises :class:`~corral.errors.InventoryError` for a source that cannot be read.
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else Path(cwd)
    builtins = builtin_sources(_script_timeout(env))
    chosen = list(sources) or default_sources(env, base)
    inventory = Inventory(cwd=base)
    vars_dirs: dict[str, VarsDir] = {}
    for given in chosen:
        source = _resolve(str(given), base)
        _read_source(source, inventory, tuple(plugin_sources), builtins)
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


def builtin_sources(
    script_timeout: float = DEFAULT_SCRIPT_TIMEOUT,
) -> tuple[InventorySourceType, ...]:
    """corral's own readers, in the order they are tried (Ansible's order)."""
    return (HOST_LIST_SOURCE, script_source(script_timeout), YAML_SOURCE, INI_SOURCE)


def default_sources(environ: Mapping[str, str], cwd: Path) -> list[str]:
    """The sources used when ``-i`` is not given (see :func:`load_inventory`)."""
    configured = environ.get("CORRAL_INVENTORY", "")
    if configured.strip():
        return [part.strip() for part in configured.split(",") if part.strip()]
    default = cwd / "inventory"
    return [str(default)] if default.is_dir() else []


def _script_timeout(environ: Mapping[str, str]) -> float:
    text = environ.get("CORRAL_INVENTORY_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_SCRIPT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(
            f"CORRAL_INVENTORY_TIMEOUT must be a positive number of seconds, not {text!r}"
        )
    return seconds


def _resolve(source: str, cwd: Path) -> str:
    """An absolute path for a path source; other strings (host lists, URLs) as given."""
    path = os.path.normpath(os.path.join(cwd, os.path.expanduser(source)))
    return path if os.path.exists(path) else source


def _vars_base(source: str) -> str | None:
    if not os.path.exists(source):
        return None
    return source if os.path.isdir(source) else os.path.dirname(source)


def _read_source(
    source: str,
    inventory: Inventory,
    plugins: tuple[InventorySourceType, ...],
    builtins: tuple[InventorySourceType, ...],
) -> None:
    failures: list[tuple[InventorySourceType, InventoryError]] = []
    if _try_readers(source, inventory, plugins, failures):
        return
    if os.path.isdir(source):
        if failures:
            raise failures[0][1]
        for entry in directory_entries(source):
            _read_source(entry, inventory, plugins, builtins)
        return
    if _try_readers(source, inventory, builtins, failures):
        return
    if failures:
        raise _likeliest(source, failures, plugins)
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
            if reader.plugin == "corral" and reader.name == "script" and _has_shebang(source):
                raise  # a real script failed: reading its code as INI would only mislead
            failures.append((reader, exc))
        except Exception as exc:
            if reader.plugin == "corral":
                raise  # a bug in corral itself: let the CLI report it as one
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
    source: str,
    failures: list[tuple[InventorySourceType, InventoryError]],
    plugins: tuple[InventorySourceType, ...],
) -> InventoryError:
    """The error of the reader the author most likely meant ``source`` for."""
    for reader, error in failures:
        if reader in plugins:
            return error
    by_name = {reader.name: error for reader, error in failures}
    head = first_line(source)
    if "yaml" in by_name and (
        os.path.splitext(source)[1] in YAML_EXTENSIONS or _YAML_LINE.match(head)
    ):
        return by_name["yaml"]
    return by_name.get("ini", failures[0][1])


def _has_shebang(path: str) -> bool:
    return first_line(path).startswith("#!")

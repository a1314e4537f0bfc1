"""Reading inventory and variable files: bytes to text, then JSON or YAML to data.

As Ansible's loader does, a data file is tried as JSON first and then as YAML. The
YAML goes through the playbooks' bounded reader (:func:`~corral.playbook.yaml.load.
load_yaml_text`: YAML 1.1 types as PyYAML's safe loader gives them, libyaml when
available, the same size, depth and alias limits) in the inventory's
:class:`~corral.playbook.yaml.dialect.Dialect`: ``!unsafe`` values become
:class:`UnsafeText`, ``!vault`` values are decrypted (:mod:`corral.vault`), a
repeated key is a warning and its last value wins. Every error is an
:class:`~corral.errors.InventoryError` with ``file:line:col``; PyYAML is imported on
first use, never when this module is imported.

Every bound of :mod:`corral.playbook.yaml.limits` holds here too: files over 10 MiB are
refused before they are read whole, and JSON nested deeper than the YAML limit is refused
(:class:`JSONTooDeep`) rather than left to overflow the stack. :func:`load_vars_argument`
reads the files named by ``-e @FILE`` and ``-p @FILE`` through the playbook loader.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.errors import CorralError, InventoryError, Location, PlaybookError, UsageError
from corral.playbook.yaml.limits import MAX_DEPTH, MAX_FILE_BYTES

__all__ = [
    "TAGS",
    "JSONTooDeep",
    "UnsafeText",
    "first_line",
    "load_data",
    "load_vars_argument",
    "loads_json",
    "mark_unsafe",
    "read_text",
    "unsafe_tag",
    "vault_tag",
]

Warn = Callable[[str], None]
_TOO_DEEP_HINT = (
    f"corral refuses data nested deeper than {MAX_DEPTH} levels; "
    "check that the file was not generated or concatenated by mistake"
)
# A JSON string (skipped whole) or a bracket: enough to find where nesting gets too deep.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class UnsafeText(str):
    """A string marked ``!unsafe``: a value to use as written, never to template."""

    __slots__ = ()


class JSONTooDeep(json.JSONDecodeError):
    """JSON nested deeper than :data:`~corral.playbook.yaml.limits.MAX_DEPTH` levels."""


def read_text(path: str) -> str:
    """Read ``path`` as UTF-8 text, refusing binary files with the line of the offence.

    A file over :data:`~corral.playbook.yaml.limits.MAX_FILE_BYTES` is refused after
    reading just past the limit, so a huge file never sits in memory whole.
    """
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
            size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise InventoryError(
            f"cannot read file: {exc.strerror or exc}", location=Location(path)
        ) from exc
    if len(data) > MAX_FILE_BYTES:
        shown = f"{size / 2**20:.1f} MiB" if size > MAX_FILE_BYTES else "over 10 MiB"
        raise InventoryError(
            f"file is too big to load ({shown}; the limit is 10 MiB)",
            hint="split it into several files in an inventory directory (-i DIR), with "
            "variables in group_vars/ and host_vars/; the limit is fixed, so that a runaway "
            "or generated file cannot stall every corral command",
            location=Location(path),
        )
    if data.startswith(b"$ANSIBLE_VAULT"):  # corral.vault is imported only when needed
        from corral.vault import VaultError, decrypt_if_vault

        try:
            data = decrypt_if_vault(data, path)
        except VaultError as exc:
            raise InventoryError(exc.message, hint=exc.hint, location=exc.location) from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise InventoryError(
            "binary file (it contains NUL bytes), not an inventory or variables file",
            location=Location(path, data.count(b"\n", 0, nul) + 1),
            hint="point -i at inventory files only, or give binary files an ignored "
            "extension such as .bak",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            location=Location(path, data.count(b"\n", 0, exc.start) + 1),
        ) from exc
    return text.removeprefix("\ufeff")


def first_line(path: str) -> str:
    """The first line of ``path`` that says something ("" if there is none).

    A ``#!`` first line counts; blank lines and ``#`` or ``;`` comments do not.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                text = line.strip()
                if number == 0 and text.startswith("#!"):
                    return text
                if text and text[0] not in "#;":
                    return text
    except OSError:
        pass
    return ""


def load_data(path: str, text: str, warn: Warn) -> Any:
    """Parse an inventory or variables file: JSON if it is JSON, else YAML (as Ansible does).

    YAML mappings and lists come out as the loader's marked types (each knows where it
    was written, and ``key_marks`` where each key is); strings are plain. Callers that
    keep values use :func:`corral.playbook.yaml.marked.unmark`.
    """
    try:
        return loads_json(text)
    except JSONTooDeep as exc:
        raise InventoryError(
            f"invalid JSON: {exc.msg}",
            hint=_TOO_DEEP_HINT,
            location=Location(path, exc.lineno, exc.colno),
        ) from None
    except CorralError as exc:  # a {"__ansible_vault": ...} that cannot be decrypted
        raise InventoryError(exc.message, hint=exc.hint, location=Location(path)) from None
    except ValueError:
        pass
    from corral.playbook.yaml.dialect import Dialect
    from corral.playbook.yaml.load import load_yaml_text

    def duplicate(where: Location, key: Any) -> None:
        warn(f"{where}: duplicate key {key!r}; the last value is used")

    dialect = Dialect(
        tags=TAGS, on_duplicate=duplicate, string_marks=False, syntax_error=_syntax_error
    )
    from corral.vault import VaultError

    try:
        return load_yaml_text(text, path, dialect=dialect)
    except InventoryError:
        raise
    except VaultError as exc:  # an inventory's error, in its own words (not "invalid YAML")
        raise InventoryError(exc.message, hint=exc.hint, location=exc.location) from None
    except CorralError as exc:
        raise InventoryError(
            f"invalid YAML: {exc.message}", hint=exc.hint, location=exc.location
        ) from exc


def loads_json(text: str) -> Any:
    """Parse JSON, turning Ansible's ``{"__ansible_unsafe": ...}`` into :class:`UnsafeText`
    and ``{"__ansible_vault": ...}`` into the decrypted value.

    Raises :class:`json.JSONDecodeError` for text that is not JSON, and its subclass
    :class:`JSONTooDeep` (at the bracket that crosses the line) for nesting deeper than
    :data:`~corral.playbook.yaml.limits.MAX_DEPTH`: the same limit YAML files have, and
    far below the depth at which the decoder would hit Python's recursion limit.
    Callers bound the size of ``text``.
    """
    hook = _unsafe_hook if "__ansible_unsafe" in text or "__ansible_vault" in text else None
    try:
        data = json.loads(text, object_hook=hook)
    except RecursionError:
        raise _too_deep(text) from None
    if _deeper_than(data, MAX_DEPTH):
        raise _too_deep(text)
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether ``data`` has lists or dicts nested more than ``limit`` levels deep."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, (dict, list)):
            continue
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _too_deep(text: str) -> JSONTooDeep:
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return JSONTooDeep(f"nested more than {MAX_DEPTH} levels deep", text, token.start())
        elif bracket in "]}":
            depth -= 1
    return JSONTooDeep(f"nested more than {MAX_DEPTH} levels deep", text, 0)


def load_vars_argument(option: str, value: str, cwd: Path | None = None) -> dict[str, Any]:
    """The mapping in the file that ``-e @FILE`` or ``-p @FILE`` names (``value`` with its @).

    The file goes through the playbook loader (:func:`~corral.playbook.yaml.load.
    load_yaml_file`), with every bound it has; JSON is read as the YAML it also is.
    A file that is not there is a usage error (exit 5); a file whose content cannot be
    used (too big, not YAML, not a mapping) is a :class:`~corral.errors.PlaybookError`
    (exit 4) at ``file:line:col``. An empty file gives no variables.
    """
    from corral.playbook.yaml.load import load_yaml_file
    from corral.playbook.yaml.marked import mark_of, unmark

    name = value[1:]
    path = Path(name) if cwd is None else cwd / name
    if not path.is_file():
        raise UsageError(
            f"{option} {value}: file not found",
            hint=f"looked for {path.absolute()}; give {option} @FILE the path of a YAML "
            "or JSON file",
        )
    data = load_yaml_file(path, display_name=name)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PlaybookError(
            f"{option} {value} must hold a mapping of names to values, not a "
            f"{type(unmark(data)).__name__}",
            hint="write one name: value per line (YAML) or one JSON object",
            location=mark_of(data) or Location(name),
        )
    return dict(unmark(data))


def _unsafe_hook(obj: dict[str, Any]) -> Any:
    """Decode the ``__ansible_unsafe`` and ``__ansible_vault`` markers, as Ansible does."""
    if len(obj) == 1 and isinstance(obj.get("__ansible_unsafe"), str):
        return UnsafeText(obj["__ansible_unsafe"])
    if len(obj) == 1 and isinstance(obj.get("__ansible_vault"), str):
        return vault_tag(obj["__ansible_vault"])  # as Ansible's JSON decoder: decrypted
    return obj


def mark_unsafe(value: Any) -> Any:
    """``value`` with every string in it made :class:`UnsafeText`."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, list):
        return [mark_unsafe(v) for v in value]
    if isinstance(value, dict):
        return {k: mark_unsafe(v) for k, v in value.items()}
    return value


def unsafe_tag(value: Any) -> Any:
    """``!unsafe``: the value, every string in it never to be templated."""
    return UnsafeText(value) if isinstance(value, str) else mark_unsafe(value)


def vault_tag(value: Any) -> Any:
    """``!vault``: the plaintext of an inline vault-encrypted value (see :mod:`corral.vault`)."""
    from corral.vault import decrypt_value

    if not isinstance(value, str):
        raise ValueError("a !vault value must be the text of a vault, not a list or mapping")
    return decrypt_value(value)


TAGS: dict[str, Callable[[Any], Any]] = {
    "!unsafe": unsafe_tag,
    "!vault": vault_tag,
    "!vault-encrypted": vault_tag,
}


def _syntax_error(exc: Any, text: str, path: str) -> InventoryError:
    """One line for a PyYAML syntax error, in PyYAML's words, at the problem's mark."""
    mark = exc.problem_mark
    message = " ".join(str(exc.problem or "invalid YAML").split())
    if exc.context:
        message = f"{message} ({' '.join(str(exc.context).split())})"
    if mark is None:
        return InventoryError(f"invalid YAML: {message}", location=Location(path))
    return InventoryError(
        f"invalid YAML: {message}", location=Location(path, mark.line + 1, mark.column + 1)
    )

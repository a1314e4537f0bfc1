"""Reading inventory and variable files: bytes to text, then JSON or YAML to data.

As Ansible's loader does, a data file is tried as JSON first and then as YAML
(YAML 1.1 through PyYAML's safe loader, libyaml when available). ``!unsafe``
values become :class:`UnsafeText`; ``!vault`` values are refused. Every error is
an :class:`~corral.errors.InventoryError` with ``file:line:col``; PyYAML is
imported on first use, never when this module is imported.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import InventoryError, Location

if TYPE_CHECKING:
    import yaml

__all__ = [
    "UnsafeText",
    "YamlDocument",
    "compose_yaml",
    "first_line",
    "load_data",
    "loads_json",
    "mark_unsafe",
    "read_text",
]

Warn = Callable[[str], None]
MERGE_TAG = "tag:yaml.org,2002:merge"


class UnsafeText(str):
    """A string marked ``!unsafe``: a value to use as written, never to template."""

    __slots__ = ()


def read_text(path: str) -> str:
    """Read ``path`` as UTF-8 text, refusing binary files with the line of the offence."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InventoryError(
            f"cannot read file: {exc.strerror or exc}", location=Location(path)
        ) from exc
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
    """Parse a variables file: JSON if it is JSON, else YAML (as Ansible tries them)."""
    try:
        return loads_json(text)
    except ValueError:
        pass
    loader = _new_loader(text, path, warn)
    try:
        return loader.get_single_data()
    except _yaml_error() as exc:
        raise _yaml_failure(path, text, exc) from exc
    finally:
        loader.dispose()


def loads_json(text: str) -> Any:
    """Parse JSON, turning Ansible's ``{"__ansible_unsafe": ...}`` into :class:`UnsafeText`."""
    if "__ansible_unsafe" not in text:
        return json.loads(text)
    return json.loads(text, object_hook=_unsafe_hook)


def _unsafe_hook(obj: dict[str, Any]) -> Any:
    """Decode Ansible's ``{"__ansible_unsafe": "..."}`` marker, as its JSON decoder does."""
    if len(obj) == 1 and isinstance(obj.get("__ansible_unsafe"), str):
        return UnsafeText(obj["__ansible_unsafe"])
    return obj


class YamlDocument:
    """A composed YAML document: nodes with their marks, and values built on demand."""

    def __init__(self, path: str, text: str, root: yaml.Node | None, loader: Any) -> None:
        self.path = path
        self.text = text
        self.root = root
        self._loader = loader

    def value(self, node: yaml.Node) -> Any:
        """The Python value of ``node`` (a whole subtree), as the safe loader builds it."""
        try:
            return self._loader.construct_object(node, deep=True)
        except _yaml_error() as exc:
            raise _yaml_failure(self.path, self.text, exc) from exc

    def location(self, node: yaml.Node) -> Location:
        """Where ``node`` starts, as ``file:line:col`` counting from 1."""
        mark = node.start_mark
        if mark is None:  # nodes of a JSON document
            return Location(self.path)
        return Location(self.path, mark.line + 1, mark.column + 1)

    def pairs(self, node: yaml.MappingNode) -> dict[Any, tuple[yaml.Node, yaml.Node]]:
        """A mapping's ``key -> (key node, value node)``; a repeated key keeps its last value.

        Merge keys (``<<: *defaults``) are applied first, as the loader does.
        """
        try:
            self._loader.flatten_mapping(node)
        except _yaml_error() as exc:
            raise _yaml_failure(self.path, self.text, exc) from exc
        result: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, Hashable):
                raise InventoryError(
                    "a mapping key must be a scalar", location=self.location(key_node)
                )
            if key in result:
                self._loader.corral_warn(
                    f"{self.location(key_node)}: duplicate key {key!r}; the last value is used"
                )
            result[key] = (key_node, value_node)
        return result


def compose_yaml(path: str, text: str, warn: Warn) -> YamlDocument:
    """Compose ``text`` into nodes (not values), so a reader can report marks.

    JSON is parsed as JSON first, as Ansible does (``1e3`` is then a number, not
    the string YAML 1.1 makes of it); its nodes carry no marks.
    """
    try:
        data = loads_json(text)
    except ValueError:
        pass
    else:
        return YamlDocument(path, text, _represent(data), _new_loader("", path, warn))
    loader = _new_loader(text, path, warn)
    try:
        root = loader.get_single_node()
    except _yaml_error() as exc:
        raise _yaml_failure(path, text, exc) from exc
    return YamlDocument(path, text, root, loader)


def _represent(data: Any) -> yaml.Node:
    """YAML nodes for already parsed data, which the loader turns back into the same values."""
    node: yaml.Node = _json_representer()().represent_data(data)
    return node


@functools.cache
def _json_representer() -> type[Any]:
    import yaml

    class Representer(yaml.representer.SafeRepresenter):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    Representer.add_representer(
        UnsafeText, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value))
    )
    return Representer


def _yaml_error() -> type[Exception]:
    import yaml

    return yaml.YAMLError


def _yaml_failure(path: str, text: str, exc: Exception) -> InventoryError:
    """One line for a PyYAML error, at the problem's mark."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        message = str(exc.problem or "invalid YAML")
        if exc.context:
            message = f"{message} ({exc.context})"
        return InventoryError(
            f"invalid YAML: {message}", location=Location(path, mark.line + 1, mark.column + 1)
        )
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return InventoryError(f"invalid YAML: {exc.reason}", location=Location(path, line))
    return InventoryError(f"invalid YAML: {exc}", location=Location(path))


def _new_loader(text: str, path: str, warn: Warn) -> Any:
    loader = _loader_class()(text)
    loader.corral_path = path
    loader.corral_warn = warn
    return loader


@functools.cache
def _loader_class() -> type[Any]:
    """The YAML loader class, built on first use so that PyYAML loads lazily."""
    import yaml

    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc]
        corral_path: str
        corral_warn: Warn

        def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
            if not isinstance(node, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "expected a mapping", node.start_mark
                )
            explicit = {id(k) for k, _ in node.value if k.tag != MERGE_TAG}
            self.flatten_mapping(node)
            mapping: dict[Any, Any] = {}
            written: set[Any] = set()
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found an unhashable key",
                        key_node.start_mark,
                    )
                if id(key_node) in explicit:
                    if key in written:
                        mark = key_node.start_mark
                        self.corral_warn(
                            f"{self.corral_path}:{mark.line + 1}:{mark.column + 1}: "
                            f"duplicate key {key!r}; the last value is used"
                        )
                    written.add(key)
                mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

    Loader.add_constructor("!unsafe", _construct_unsafe)
    Loader.add_constructor("!vault", _refuse_vault)
    Loader.add_constructor("!vault-encrypted", _refuse_vault)
    return Loader


def _construct_unsafe(loader: Any, node: yaml.Node) -> Any:
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return UnsafeText(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return [mark_unsafe(v) for v in loader.construct_sequence(node, deep=True)]
    return {k: mark_unsafe(v) for k, v in loader.construct_mapping(node, deep=True).items()}


def mark_unsafe(value: Any) -> Any:
    """``value`` with every string in it made :class:`UnsafeText`."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, list):
        return [mark_unsafe(v) for v in value]
    if isinstance(value, dict):
        return {k: mark_unsafe(v) for k, v in value.items()}
    return value


def _refuse_vault(loader: Any, node: yaml.Node) -> Any:
    import yaml

    raise yaml.constructor.ConstructorError(
        None,
        None,
        "vault-encrypted values (!vault) are not supported; use corral secrets instead",
        node.start_mark,
    )

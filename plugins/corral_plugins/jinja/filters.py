"""Ansible's filters (the lists-and-dicts ones are in :mod:`corral_plugins.jinja.lists`).

Each filter is a plain function; :data:`FILTERS` maps the names templates use to
them, and the plugin registers each as a ``TemplateFunction(kind="filter")``.
Jinja2's own filters (``default``/``d``, ``join``, ``length``, ``int``, ``map``,
``select``, ``unique``, ...) come with the core. docs/templating.md lists them all.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import ntpath
import os.path
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml
from jinja2 import Environment
from jinja2.runtime import Undefined
from jinja2.utils import pass_environment

from corral import Secret, TemplateError
from corral.playbook.templating.limits import TemplateLimits
from corral.playbook.templating.templar import Verbatim
from corral_plugins.jinja import patterns
from corral_plugins.jinja.comments import comment
from corral_plugins.jinja.ipaddr import IP_FILTERS
from corral_plugins.jinja.lists import LIST_FILTERS
from corral_plugins.jinja.queries import QUERY_FILTERS
from corral_plugins.jinja.tests import version_compare

__all__ = ["FILTERS", "to_bool"]

TRUE_STRINGS = frozenset({"yes", "on", "true", "1"})


# --- types and conversions -------------------------------------------------


def to_bool(value: Any) -> bool:
    """Ansible's ``bool``: yes/on/true/1 (any case) and 1 are true; anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        return str(value).strip().lower() in TRUE_STRINGS
    return False


def ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    """``true_val`` if ``value`` is truthy, else ``false_val`` (``none_val`` for None if given)."""
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


def mandatory(value: Any, msg: str | None = None) -> Any:
    """``value`` itself, or an error if it is undefined."""
    if isinstance(value, Undefined):
        name = value._undefined_name
        raise TemplateError(msg or f"mandatory variable {name!r} is not defined")
    return value


def type_debug(value: Any) -> str:
    """The Python type name of ``value``."""
    return type(value).__name__


# --- JSON and YAML -----------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Verbatim):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Mapping):  # e.g. a hostvars view
        return dict(value)
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    raise TypeError(f"object of type {type(value).__name__!r} is not JSON serializable")


def to_json(value: Any, **kwargs: Any) -> str:
    """``value`` as compact JSON (keyword arguments go to ``json.dumps``)."""
    return json.dumps(value, default=_json_default, **kwargs)


def to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True, **kwargs: Any) -> str:
    """``value`` as indented JSON with sorted keys."""
    return json.dumps(
        value,
        default=_json_default,
        indent=indent,
        sort_keys=sort_keys,
        separators=(",", ": "),
        **kwargs,
    )


def from_json(text: str, **kwargs: Any) -> Any:
    """Parse a JSON string."""
    return json.loads(text, **kwargs)


class _YamlDumper(yaml.SafeDumper):
    """SafeDumper that writes secrets revealed and tuples as lists."""


_YamlDumper.add_representer(Secret, lambda d, v: d.represent_str(v.reveal()))
_YamlDumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))
_YamlDumper.add_representer(Verbatim, lambda d, v: d.represent_data(v.value))
_YamlDumper.add_multi_representer(
    Mapping,  # type: ignore[type-abstract]  # any Mapping, e.g. a hostvars view
    lambda d, v: d.represent_dict(dict(v)),
)


def to_yaml(value: Any, default_flow_style: bool | None = None, **kwargs: Any) -> str:
    """``value`` as terse YAML (flow style for nested collections)."""
    text: str = yaml.dump(
        value,
        Dumper=_YamlDumper,
        allow_unicode=True,
        default_flow_style=default_flow_style,
        **kwargs,
    )
    return text


def to_nice_yaml(value: Any, indent: int = 4, **kwargs: Any) -> str:
    """``value`` as block-style YAML."""
    kwargs.setdefault("default_flow_style", False)
    return to_yaml(value, indent=indent, **kwargs)


def from_yaml(text: Any) -> Any:
    """Parse a YAML string (safe loader); non-strings pass through."""
    if not isinstance(text, str):
        return text
    return yaml.safe_load(text)


def from_yaml_all(text: Any) -> Any:
    """Parse a multi-document YAML string into a list of documents."""
    if not isinstance(text, str):
        return text
    return list(yaml.safe_load_all(text))


# --- regular expressions -----------------------------------------------------


def _flags(ignorecase: bool, multiline: bool) -> int:
    return (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)


def _timeout(environment: Environment) -> float:
    limits: TemplateLimits = getattr(environment, "limits", TemplateLimits())
    return limits.regex_timeout


@pass_environment
def regex_replace(
    environment: Environment,
    value: Any = "",
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
    mandatory_count: int = 0,
) -> str:
    """Replace matches of ``pattern``; ``mandatory_count`` fails unless that many matched."""
    result, made = patterns.replace(
        pattern,
        replacement,
        str(value),
        _flags(ignorecase, multiline),
        count=count,
        timeout=_timeout(environment),
        what="regex_replace",
    )
    if mandatory_count and made != mandatory_count:
        raise TemplateError(
            f"regex_replace: expected {mandatory_count} replacements of {pattern!r}, made {made}"
        )
    return result


@pass_environment
def regex_search(
    environment: Environment, value: Any, pattern: str, *groups: str, **kwargs: Any
) -> Any:
    """First match of ``pattern``, or a list of the named groups (``'\\\\1'``, ``'\\\\g<name>'``).

    Returns None when nothing matches.
    """
    wanted: list[int | str] = []
    for group in groups:
        if named := re.fullmatch(r"\\g<(\S+)>", group):
            wanted.append(named.group(1))
        elif numbered := re.fullmatch(r"\\(\d+)", group):
            wanted.append(int(numbered.group(1)))
        else:
            raise TemplateError(
                f"regex_search: unknown argument {group!r}; use '\\1' or '\\g<name>'"
            )
    flags = _flags(bool(kwargs.get("ignorecase")), bool(kwargs.get("multiline")))
    match = patterns.first_match(
        pattern, str(value), flags, how="search", timeout=_timeout(environment), what="regex_search"
    )
    if match is None:
        return None
    if not wanted:
        return match.group()
    return [match.group(g) for g in wanted]


@pass_environment
def regex_findall(
    environment: Environment,
    value: Any,
    pattern: str,
    multiline: bool = False,
    ignorecase: bool = False,
) -> list[Any]:
    """All matches of ``pattern`` (tuples of groups when it has several)."""
    return patterns.find_all(
        pattern,
        str(value),
        _flags(ignorecase, multiline),
        timeout=_timeout(environment),
        what="regex_findall",
    )


def regex_escape(value: Any, re_type: str = "python") -> str:
    """Escape regular-expression special characters."""
    if re_type != "python":
        raise TemplateError(f"regex_escape: unsupported re_type {re_type!r}")
    return re.escape(str(value))


# --- paths, encodings, hashes, shell -------------------------------------------


def quote(value: Any) -> str:
    """Quote ``value`` for a POSIX shell (``shlex.quote``); None becomes ``''``."""
    return shlex.quote("" if value is None else str(value))


def path_join(parts: Sequence[str] | str) -> str:
    """``os.path.join`` of a list of path parts."""
    if isinstance(parts, str):
        return parts
    return os.path.join(*parts)


def b64encode(value: Any, encoding: str = "utf-8", urlsafe: bool = False) -> str:
    """Base64 of the string ``value`` encoded as ``encoding``."""
    data = str(value).encode(encoding)
    encoded = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    return encoded.decode("ascii")


def b64decode(value: Any, encoding: str = "utf-8", urlsafe: bool = False) -> str:
    """Decode base64 to a string in ``encoding``."""
    data = str(value).encode("ascii")
    decoded = base64.urlsafe_b64decode(data) if urlsafe else base64.b64decode(data)
    return decoded.decode(encoding)


def hash_filter(value: Any, hashtype: str = "sha1") -> str:
    """Hex digest of ``value`` with any ``hashlib`` algorithm (sha1, md5, sha256, ...)."""
    try:
        digest = hashlib.new(hashtype)
    except ValueError as exc:
        raise TemplateError(f"hash: unsupported hash type {hashtype!r}") from exc
    digest.update(str(value).encode("utf-8"))
    return digest.hexdigest()


def _version_filter(value: Any, version: Any, operator: str = "eq", **kwargs: Any) -> bool:
    """``value | version('1.2', '>=')``: the ``version`` test, usable as a filter."""
    return version_compare(value, version, operator, **kwargs)


FILTERS: dict[str, Callable[..., Any]] = {
    **LIST_FILTERS,
    **QUERY_FILTERS,
    **IP_FILTERS,
    # types
    "bool": to_bool,
    "ternary": ternary,
    "mandatory": mandatory,
    "type_debug": type_debug,
    # JSON and YAML
    "to_json": to_json,
    "to_nice_json": to_nice_json,
    "from_json": from_json,
    "to_yaml": to_yaml,
    "to_nice_yaml": to_nice_yaml,
    "from_yaml": from_yaml,
    "from_yaml_all": from_yaml_all,
    # regular expressions
    "regex_replace": regex_replace,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "regex_escape": regex_escape,
    # paths, encodings, hashes, shell, comments
    "quote": quote,
    "comment": comment,
    "basename": os.path.basename,
    "dirname": os.path.dirname,
    "expanduser": os.path.expanduser,
    "realpath": os.path.realpath,
    "splitext": lambda path: list(os.path.splitext(path)),
    "path_join": path_join,
    "win_basename": ntpath.basename,
    "win_dirname": ntpath.dirname,
    "b64encode": b64encode,
    "b64decode": b64decode,
    "hash": hash_filter,
    "checksum": hash_filter,
    "sha1": lambda value: hash_filter(value, "sha1"),
    "md5": lambda value: hash_filter(value, "md5"),
    # versions
    "version": _version_filter,
    "version_compare": _version_filter,
}

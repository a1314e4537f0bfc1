"""The Ansible filters corral adds to Jinja2's built-in ones.

Each filter is a plain function; :data:`FILTERS` maps the names templates use to
them. Jinja2's own filters (``default``/``d``, ``join``, ``length``, ``int``,
``float``, ``string``, ``upper``, ``lower``, ``replace``, ``first``, ``last``,
``sort``, ``list``, ``trim``, ``min``, ``max``, ``sum``, ``abs``, ``round``, ...) stay
as they are, except ``map``, ``select``, ``reject``, ``selectattr`` and
``rejectattr``, which return lists here (as in Ansible) instead of generators, and
``unique``, which also accepts unhashable items. docs/templating.md lists them all.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import itertools
import json
import ntpath
import os.path
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml
from jinja2 import filters as jinja_filters
from jinja2.runtime import Context, Undefined
from jinja2.utils import pass_context, pass_environment

from corral.errors import TemplateError
from corral.playbook.templating.environment import CorralEnvironment, Verbatim
from corral.playbook.templating.jinja_tests import version_compare
from corral.secrets import Secret

__all__ = ["FALSE_STRINGS", "FILTERS", "TRUE_STRINGS", "to_bool"]

TRUE_STRINGS = frozenset({"yes", "on", "true", "1"})
FALSE_STRINGS = frozenset({"no", "off", "false", "0"})


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


def regex_replace(
    value: Any = "",
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
    mandatory_count: int = 0,
) -> str:
    """Replace matches of ``pattern``; ``mandatory_count`` fails unless that many matched."""
    regex = re.compile(pattern, _flags(ignorecase, multiline))
    result, made = regex.subn(replacement, str(value), count=count)
    if mandatory_count and made != mandatory_count:
        raise TemplateError(
            f"regex_replace: expected {mandatory_count} replacements of {pattern!r}, made {made}"
        )
    return result


def regex_search(value: Any, pattern: str, *groups: str, **kwargs: Any) -> Any:
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
    match = re.search(pattern, str(value), flags)
    if match is None:
        return None
    if not wanted:
        return match.group()
    return [match.group(g) for g in wanted]


def regex_findall(
    value: Any, pattern: str, multiline: bool = False, ignorecase: bool = False
) -> list[Any]:
    """All matches of ``pattern`` (tuples of groups when it has several)."""
    return re.findall(pattern, str(value), _flags(ignorecase, multiline))


def regex_escape(value: Any, re_type: str = "python") -> str:
    """Escape regular-expression special characters."""
    if re_type != "python":
        raise TemplateError(f"regex_escape: unsupported re_type {re_type!r}")
    return re.escape(str(value))


# --- lists and dicts ---------------------------------------------------------


def _as_list_filter(name: str) -> Callable[..., Any]:
    original = jinja_filters.FILTERS[name]

    @pass_context
    def as_list(context: Context, value: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return list(original(context, value, *args, **kwargs))

    as_list.__doc__ = f"Jinja2's ``{name}`` filter, returning a list."
    return as_list


@pass_environment
def unique(
    environment: CorralEnvironment,
    value: Iterable[Any],
    case_sensitive: bool | None = None,
    attribute: str | int | None = None,
) -> list[Any]:
    """Items of ``value`` without repeats, in order (unhashable items allowed)."""
    items = list(value)
    try:
        return list(
            jinja_filters.do_unique(
                environment, items, case_sensitive=bool(case_sensitive), attribute=attribute
            )
        )
    except TypeError:  # unhashable items, e.g. dicts
        if attribute is not None:
            raise
        return _unique_in_order(items)


def _unique_in_order(items: Iterable[Any]) -> list[Any]:
    result: list[Any] = []
    for item in items:
        if item not in result:
            result.append(item)
    return result


def difference(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    """Items of ``a`` not in ``b``, in ``a``'s order, without repeats."""
    other = list(b)
    return _unique_in_order(x for x in a if x not in other)


def intersect(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    """Items of ``a`` that are also in ``b``, in ``a``'s order, without repeats."""
    other = list(b)
    return _unique_in_order(x for x in a if x in other)


def union(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    """Items of ``a`` then ``b``, without repeats."""
    return _unique_in_order(itertools.chain(a, b))


def symmetric_difference(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    """Items in exactly one of ``a`` and ``b``."""
    left, right = list(a), list(b)
    return _unique_in_order(
        [x for x in left if x not in right] + [x for x in right if x not in left]
    )


def flatten(items: Iterable[Any], levels: int | None = None, skip_nulls: bool = True) -> list[Any]:
    """Flatten nested lists (all the way, or ``levels`` deep); drops nulls unless told not to."""
    result: list[Any] = []
    for item in items:
        if skip_nulls and (item is None or item in ("None", "null")):
            continue
        if isinstance(item, list | tuple) and (levels is None or levels >= 1):
            deeper = None if levels is None else int(levels) - 1
            result.extend(flatten(item, levels=deeper, skip_nulls=skip_nulls))
        else:
            result.append(item)
    return result


def subelements(items: Iterable[Any], key: str, skip_missing: bool = False) -> list[list[Any]]:
    """``[item, sub]`` for each element ``sub`` of ``item[key]``, as Ansible's ``subelements``."""
    pairs: list[list[Any]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise TypeError(f"subelements expects a list of mappings, got {type(item).__name__}")
        if key not in item:
            if skip_missing:
                continue
            raise KeyError(f"could not find {key!r} in {item!r}")
        children = item[key]
        if not isinstance(children, list):
            raise TypeError(
                f"the key {key!r} should point to a list, got {type(children).__name__}"
            )
        pairs.extend([item, child] for child in children)
    return pairs


def dict2items(
    value: Mapping[Any, Any], key_name: str = "key", value_name: str = "value"
) -> list[dict[str, Any]]:
    """``{'a': 1}`` becomes ``[{'key': 'a', 'value': 1}]``."""
    if not isinstance(value, Mapping):
        raise TemplateError(f"dict2items expects a mapping, got {type(value).__name__}")
    return [{key_name: k, value_name: v} for k, v in value.items()]


def items2dict(
    items: Iterable[Any], key_name: str = "key", value_name: str = "value"
) -> dict[Any, Any]:
    """``[{'key': 'a', 'value': 1}]`` becomes ``{'a': 1}``."""
    result: dict[Any, Any] = {}
    for item in items:
        try:
            result[item[key_name]] = item[value_name]
        except (KeyError, IndexError, TypeError):
            raise TemplateError(
                f"items2dict expects items with {key_name!r} and {value_name!r}, got {item!r}"
            ) from None
    return result


def to_dict(pairs: Any) -> dict[Any, Any]:
    """A dict from a mapping or from ``[key, value]`` pairs (e.g. the output of ``zip``)."""
    return dict(pairs)


def zip_filter(first: Iterable[Any], *others: Iterable[Any]) -> list[list[Any]]:
    """Pair up items by position, stopping at the shortest input."""
    return [list(group) for group in zip(first, *others, strict=False)]


def zip_longest(*lists: Iterable[Any], fillvalue: Any = None) -> list[list[Any]]:
    """Pair up items by position, padding the shorter inputs with ``fillvalue``."""
    return [list(group) for group in itertools.zip_longest(*lists, fillvalue=fillvalue)]


def product(*lists: Iterable[Any], repeat: int = 1) -> list[list[Any]]:
    """Cartesian product of the lists (``with_nested``)."""
    return [list(group) for group in itertools.product(*lists, repeat=repeat)]


def permutations(items: Iterable[Any], r: int | None = None) -> list[list[Any]]:
    """All orderings of ``r`` items (all of them by default)."""
    return [list(group) for group in itertools.permutations(items, r)]


def combinations(items: Iterable[Any], r: int) -> list[list[Any]]:
    """All choices of ``r`` items, order ignored."""
    return [list(group) for group in itertools.combinations(items, r)]


def split(value: Any, separator: str | None = None, maxsplit: int = -1) -> list[str]:
    """``str.split``: on whitespace by default."""
    return str(value).split(separator, maxsplit)


@pass_environment
def extract(environment: CorralEnvironment, item: Any, container: Any, morekeys: Any = None) -> Any:
    """``container[item]`` (then ``[morekeys]``...); e.g. ``names | map('extract', hostvars)``."""
    keys = [item] + (morekeys if isinstance(morekeys, list) else [morekeys] if morekeys else [])
    value = container
    for key in keys:
        value = environment.getitem(value, key)
    return value


_LIST_MERGES = frozenset({"replace", "keep", "append", "prepend", "append_rp", "prepend_rp"})


def _merge_lists(old: list[Any], new: list[Any], mode: str) -> list[Any]:
    if mode == "keep":
        return old
    if mode == "append":
        return old + new
    if mode == "prepend":
        return new + old
    if mode == "append_rp":
        return [x for x in old if x not in new] + new
    if mode == "prepend_rp":
        return new + [x for x in old if x not in new]
    return new


def _merge(
    base: Mapping[Any, Any], top: Mapping[Any, Any], recursive: bool, mode: str
) -> dict[Any, Any]:
    result = dict(base)
    for key, value in top.items():
        old = result.get(key)
        if recursive and isinstance(old, Mapping) and isinstance(value, Mapping):
            result[key] = _merge(old, value, recursive, mode)
        elif isinstance(old, list) and isinstance(value, list):
            result[key] = _merge_lists(old, value, mode)
        else:
            result[key] = value
    return result


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict[Any, Any]:
    """Merge dicts left to right (later keys win); ``recursive`` merges nested dicts."""
    if list_merge not in _LIST_MERGES:
        raise TemplateError(
            f"combine: list_merge must be one of {', '.join(sorted(_LIST_MERGES))}, "
            f"not {list_merge!r}"
        )
    result: dict[Any, Any] = {}
    for term in flatten(terms, levels=1, skip_nulls=False):
        if not isinstance(term, Mapping):
            raise TemplateError(f"combine expects dicts, got {type(term).__name__}")
        result = _merge(result, term, recursive, list_merge)
    return result


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
    # lists returned where Jinja2 would return generators
    "map": _as_list_filter("map"),
    "select": _as_list_filter("select"),
    "reject": _as_list_filter("reject"),
    "selectattr": _as_list_filter("selectattr"),
    "rejectattr": _as_list_filter("rejectattr"),
    "unique": unique,
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
    # lists and dicts
    "difference": difference,
    "intersect": intersect,
    "union": union,
    "symmetric_difference": symmetric_difference,
    "flatten": flatten,
    "subelements": subelements,
    "dict2items": dict2items,
    "items2dict": items2dict,
    "dict": to_dict,
    "zip": zip_filter,
    "zip_longest": zip_longest,
    "product": product,
    "permutations": permutations,
    "combinations": combinations,
    "split": split,
    "extract": extract,
    "combine": combine,
    # paths, encodings, hashes, shell
    "quote": quote,
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

"""Ansible's filters on lists and dicts: set operations, flatten, zip, combine, ...

``map``, ``select``, ``reject``, ``selectattr``, ``rejectattr`` and ``unique`` are
Jinja2's own filters, served by the core (they return lists there, as in Ansible).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Environment
from jinja2.utils import pass_environment

from corral import TemplateError
from corral.playbook.templating.limits import TemplateLimits, check_item_count

__all__ = ["LIST_FILTERS"]


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


def _max_items(environment: Environment) -> int:
    limits: TemplateLimits = getattr(environment, "limits", TemplateLimits())
    return limits.max_iterations


@pass_environment
def product(environment: Environment, *lists: Iterable[Any], repeat: int = 1) -> list[list[Any]]:
    """Cartesian product of the lists (``with_nested``), up to the template item limit."""
    limit = _max_items(environment)
    pools = [list(items) for items in lists]
    check_item_count(len(pools) * max(repeat, 0), limit, "product")  # items per tuple
    count = 1
    for pool in pools * max(repeat, 0):
        count *= len(pool)
        if count == 0 or count > limit:
            break
    check_item_count(count, limit, "product")
    return [list(group) for group in itertools.product(*pools, repeat=repeat)]


@pass_environment
def permutations(
    environment: Environment, items: Iterable[Any], r: int | None = None
) -> list[list[Any]]:
    """All orderings of ``r`` items (all of them by default), up to the template item limit."""
    pool = list(items)
    size = len(pool) if r is None else r
    count = math.perm(len(pool), size) if 0 <= size <= len(pool) else 0
    check_item_count(count, _max_items(environment), "permutations")
    return [list(group) for group in itertools.permutations(pool, r)]


@pass_environment
def combinations(environment: Environment, items: Iterable[Any], r: int) -> list[list[Any]]:
    """All choices of ``r`` items, order ignored, up to the template item limit."""
    pool = list(items)
    count = math.comb(len(pool), r) if 0 <= r <= len(pool) else 0
    check_item_count(count, _max_items(environment), "combinations")
    return [list(group) for group in itertools.combinations(pool, r)]


def split(value: Any, separator: str | None = None, maxsplit: int = -1) -> list[str]:
    """``str.split``: on whitespace by default."""
    return str(value).split(separator, maxsplit)


@pass_environment
def extract(environment: Environment, item: Any, container: Any, morekeys: Any = None) -> Any:
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


LIST_FILTERS: dict[str, Callable[..., Any]] = {
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
}

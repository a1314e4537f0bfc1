"""Any inventory file, host list or host pattern gives hosts or a clean error, in bounded time.

Properties over corral's inventory readers (INI, YAML/JSON, host lists, through
``load_inventory`` as ``-i`` uses them) and over host patterns and ``--limit`` values
evaluated against an inventory. Inputs are arbitrary text and near-valid inventories and
patterns (ranges, ports, ``key=value`` variables, Python literals, regexes, subscripts).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzzing import bounded, memory_cap, mutated, outcome
from hypothesis import given
from hypothesis import strategies as st

from corral.errors import CorralError
from corral.inventory import Inventory, load_inventory
from corral.inventory.entities import LOCALHOST_NAMES
from corral_plugins.inventory import SOURCES


@pytest.fixture(autouse=True, scope="module")
def _memory_bound() -> Iterator[None]:
    with memory_cap():
        yield


def load_text(text: str, name: str) -> Inventory | CorralError:
    """What ``corral inventory -i NAME`` makes of a file ``NAME`` holding ``text``."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_text(text, encoding="utf-8")

        def load() -> Inventory:
            inventory = load_inventory(
                [str(path)], plugin_sources=SOURCES, environ={}, cwd=Path(directory)
            )
            for host in inventory.hosts:  # variables are merged on first use
                inventory.host_vars(host)
            return inventory

        return outcome(load)


# -- strategies ----------------------------------------------------------------------------

BIG = "9" * 5000
NAMES = st.sampled_from(
    ["web", "db", "all", "ungrouped", "web1", "10.0.0.1", "::1", "[::1]:22", "h-1", "_x",
     "a.b.c", "localhost", "127.0.0.1", "web*", "---", "x:", "é", "a b", ""]
)  # fmt: skip
RANGES = st.sampled_from(
    ["[1:3]", "[01:03]", "[a:c]", "[1:9:2]", "[3:1]", "[1:3:0]", "[a:9]", "[:3]", "[1:]",
     "[1:3", "1:3]", "[[1:2]]", "[1:2][a:b]", f"[0:{BIG}]", f"[{BIG}:1]", "[0:999999999999]",
     "[0:99999][0:99999]", "[0:9:99999999999999999999]"]
)  # fmt: skip
VALUES = st.sampled_from(
    ["1", "-1", "0755", "1.5", "1e999", "True", "None", "yes", "'a b'", '"a b"', "[1, 2]",
     "{'a': [1]}", "(1,)", "{1, 2}", "b'x'", "1j", "...", "0x1F", "'unterminated", "\\",
     "[" * 200 + "]" * 200, "9" * 30, BIG, "{{ x }}", "a=b", "=", "#", ";", "'\\N{nope}'"]
)  # fmt: skip
HOST_ENTRY = st.builds(
    lambda name, rng, port: f"{name}{rng}{port}",
    NAMES,
    st.sampled_from(["", ""]) | RANGES,
    st.sampled_from(["", ":22", ":", ":99999999", ":x", f":{BIG}"]),
)
INI_LINE = st.one_of(
    st.builds(
        lambda host, pairs: " ".join([host, *pairs]),
        HOST_ENTRY,
        st.lists(st.builds(lambda k, v: f"{k}={v}", NAMES, VALUES), max_size=3),
    ),
    st.builds(
        lambda name, kind: f"[{name}{kind}]",
        NAMES,
        st.sampled_from(["", ":vars", ":children", ":hosts", ":weird", ":", " "]),
    ),
    st.builds(lambda k, v: f"{k}={v}", NAMES, VALUES),
    NAMES,
    st.sampled_from(["# comment", "; comment", "", "   ", "[", "]", "=", "\t"]),
)
INI_TEXT = st.lists(INI_LINE, max_size=12).map("\n".join)

VARS = st.dictionaries(
    NAMES,
    st.recursive(st.none() | st.integers() | VALUES, lambda x: st.lists(x, max_size=3)),
    max_size=3,
)
GROUP: Any = st.deferred(
    lambda: (
        st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "hosts": st.dictionaries(HOST_ENTRY, st.none() | VARS | VALUES, max_size=3)
                | VALUES
                | st.lists(NAMES, max_size=2),
                "vars": VARS | VALUES,
                "children": st.dictionaries(NAMES, GROUP, max_size=2) | VALUES,
                "bogus": VALUES,
            },
        )
        | VALUES
    )
)
YAML_INVENTORY = st.dictionaries(NAMES | st.integers(), GROUP, max_size=3)
YAML_PIECES = st.sampled_from(
    [":", "- ", "\n  ", "{", "}", "[", "]", "&a ", "*a", "<<: *a", "!unsafe ", "!vault x",
     "'", '"', "#", "\t", "---\n", "plugin: x\n"]
)  # fmt: skip


@st.composite
def yaml_inventory_text(draw: Any) -> str:
    data = draw(YAML_INVENTORY)
    if draw(st.booleans()):
        return json.dumps(data)
    text: str = yaml.safe_dump(data, default_flow_style=draw(st.sampled_from([False, None])))
    return text


# -- the readers ---------------------------------------------------------------------------


@bounded(200)
@given(text=INI_TEXT | mutated(INI_TEXT, st.sampled_from(["[", "]", "'", '"', "=", ":", "\n"])))
def test_ini_inventories_load_or_fail_cleanly(text: str) -> None:
    load_text(text, "hosts.ini")


@bounded(200)
@given(text=yaml_inventory_text() | mutated(yaml_inventory_text(), YAML_PIECES))
def test_yaml_inventories_load_or_fail_cleanly(text: str) -> None:
    load_text(text, "hosts.yml")


@bounded(150)
@given(text=st.text(max_size=300) | INI_TEXT | yaml_inventory_text())
def test_any_file_given_to_dash_i_loads_or_fails_cleanly(text: str) -> None:
    """An extensionless file is offered to every reader in turn (YAML, then INI)."""
    load_text(text, "hosts")


@bounded(150)
@given(entries=st.lists(HOST_ENTRY | st.text(max_size=20), max_size=5))
def test_host_lists_load_or_fail_cleanly(entries: list[str]) -> None:
    source = ",".join(entries) + ","
    with tempfile.TemporaryDirectory() as directory:
        outcome(
            lambda: load_inventory(
                [source], plugin_sources=SOURCES, environ={}, cwd=Path(directory)
            )
        )


# -- host patterns -------------------------------------------------------------------------

GLOBS = st.sampled_from(
    ["*", "?", "web0[12]", "(a|b)", "(a+)+$", "a{4294967296}", "(" * 300, "[z-a]", "\\", "*[",
     "?*?*"]
)  # fmt: skip
SUBSCRIPTS = st.sampled_from(
    ["", "", "[0]", "[-1]", "[1:2]", "[1-2]", "[2:]", "[0:0]", f"[{BIG}]", f"[0:{BIG}]",
     "[99999999999999999999]"]
)  # fmt: skip
PATTERN_PART = st.builds(
    lambda prefix, body, subscript: f"{prefix}{body}{subscript}",
    st.sampled_from(["", "", "&", "!", "~", "@"]),
    NAMES | GLOBS | st.text(max_size=12),
    SUBSCRIPTS,
)
PATTERN = st.lists(PATTERN_PART, min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from([",", ":", ", "]).map(lambda sep: sep.join(parts))
)
INVENTORY = "solo\n[web]\nweb[1:4]\n[db]\ndb1\nweb1\n[prod:children]\nweb\n"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    directory = tmp_path_factory.mktemp("patterns")
    (directory / "hosts.ini").write_text(INVENTORY)
    (directory / "web").write_text("web1\nweb2\n")  # a --limit @web file
    return load_inventory(
        [str(directory / "hosts.ini")], plugin_sources=SOURCES, environ={}, cwd=directory
    )


@bounded(300)
@given(pattern=PATTERN | st.text(max_size=40), limit=st.none() | PATTERN)
def test_host_patterns_select_or_fail_cleanly(
    inventory: Inventory, pattern: str, limit: str | None
) -> None:
    inventory.pattern_cache.clear()
    result = outcome(lambda: inventory.select(pattern, limit=limit))
    if isinstance(result, list):  # a localhost name may bring the implicit localhost
        assert set(result) <= {*inventory.hosts, *LOCALHOST_NAMES}

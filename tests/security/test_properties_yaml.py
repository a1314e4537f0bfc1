"""Any text given as a playbook, task file or data file loads or fails cleanly, in bounded time.

Properties over the bounded YAML reader in its two dialects (playbooks; inventory and
variables data) and over the whole playbook loader (keywords, step arguments, includes).
Inputs are arbitrary text, YAML-ish noise, and near-valid YAML: real documents (with
anchors, aliases, merges and tags) dumped by PyYAML and then mutated.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzzing import bounded, memory_cap, mutated, outcome
from hypothesis import given
from hypothesis import strategies as st

from corral.errors import CorralError, InventoryError, PlaybookError
from corral.playbook.loader import load_playbook
from corral.playbook.yaml import load as yamlload
from corral.playbook.yaml.load import load_yaml_text
from corral.playbook.yaml.read import load_data
from corral.plugins import Registry, build_registry, make_plugin_manager


@pytest.fixture(autouse=True, scope="module")
def _memory_bound() -> Iterator[None]:
    with memory_cap():
        yield


@cache
def registry() -> Registry:
    """Every built-in plugin's registry (not a fixture, so a failure does not print it)."""
    return build_registry(make_plugin_manager())


# -- strategies ----------------------------------------------------------------------------

YAML_PIECES = st.sampled_from(
    [
        ":", ": ", "- ", "-", "?", "? ", "[", "]", "{", "}", ",", "#", "|", ">", "|-", ">+",
        "'", '"', "\\", "\n", "\n  ", "\n- ", "\t", "  ", "&a ", "*a", "&b ", "*b", "<<: *a",
        "<<: [*a, *b]", "!!str ", "!!int ", "!!python/object:os.system ", "!unsafe ",
        "!vault ", "!!binary ", "!!set ", "!!omap ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n",
        "---\n", "...\n", "--- ", "\ufeff", "\x85", "\u2028", "\x00", "\x07", "{{ x }}",
        "{% if %}", "0755", "0x1F", "1e999", "yes", "~", "null", "2024-01-31", "=", "<<",
        "9" * 30, "[" * 60, "{" * 60, "- " * 60,
    ]
)  # fmt: skip

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["{{ x }}", "yes", "0755", "<<", "=", "~", "a: b", "- x", "*a"])
)
DATA = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def dumped(draw: Any, data: st.SearchStrategy[Any] = DATA) -> str:
    """A document PyYAML writes, in block, flow or mixed style."""
    style = draw(st.sampled_from([False, True, None]))
    text: str = yaml.safe_dump(
        draw(data), default_flow_style=style, allow_unicode=draw(st.booleans())
    )
    return text


ANCHORED = st.sampled_from(
    [
        "base: &a {x: 1}\nuse:\n  <<: *a\n  y: 2\n",
        "a: &a [1, 2]\nb: &b [*a, *a]\nc: [*b, *b]\n",
        "- &a x\n- *a\n- !!str *a\n",
        "x: &a\n  y: *a\n",
        "k: 1\nk: 2\n",
        "? [a, b]\n: c\n",
        "? {a: 1}\n: c\n",
        "a: !unsafe '{{ x }}'\nb: !unsafe [1, {c: d}]\n",
        "a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n",
        "a: !!python/name:os.system\n",
        "a: !!timestamp 2001-12-14t21:59:43.10-05:00\nb: !!float .inf\n",
        "- {a: 1, <<: {b: 2}}\n",
        "--- a\n--- b\n",
    ]
)
YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{},#|>'\"&*!%?@`\\ \t\nabc01")), max_size=200)
YAML_TEXT = (
    st.text(max_size=300)
    | YAMLISH
    | mutated(dumped(), YAML_PIECES)
    | mutated(ANCHORED, YAML_PIECES)
)


# -- the reader in both dialects ------------------------------------------------------------


@pytest.fixture(scope="module", params=["libyaml", "python"])
def parser(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each property runs through libyaml and through PyYAML's pure-Python parser."""
    if request.param == "libyaml" and not yamlload.LIBYAML:
        pytest.skip("PyYAML was built without libyaml")
    saved = yamlload._LOADER
    yamlload._LOADER = yaml.CSafeLoader if request.param == "libyaml" else yaml.SafeLoader
    try:
        yield
    finally:
        yamlload._LOADER = saved


@pytest.mark.usefixtures("parser")
@bounded(200)
@given(text=YAML_TEXT)
def test_playbook_yaml_loads_or_fails_cleanly(text: str) -> None:
    result = outcome(lambda: load_yaml_text(text, "site.yml"))
    if isinstance(result, CorralError):
        assert isinstance(result, PlaybookError)
        assert str(result).startswith("site.yml")


@pytest.mark.usefixtures("parser")
@bounded(200)
@given(text=YAML_TEXT)
def test_data_yaml_loads_or_fails_cleanly(text: str) -> None:
    warnings: list[str] = []
    result = outcome(lambda: load_data("hosts.yml", text, warnings.append))
    if isinstance(result, CorralError):
        assert isinstance(result, InventoryError)
        assert str(result).startswith("hosts.yml")


# -- the playbook loader --------------------------------------------------------------------

STEP_NAMES = st.sampled_from(
    ["debug", "shell", "command", "copy", "file", "set_fact", "fail", "assert", "pause",
     "wait_for", "template", "include_tasks", "import_tasks", "nosuchstep", "block"]
)  # fmt: skip
KEYWORDS = st.sampled_from(
    ["name", "when", "loop", "with_items", "register", "notify", "tags", "become", "vars",
     "ignore_errors", "until", "retries", "delay", "no_log", "delegate_to", "run_once",
     "rescue", "always", "listen", "changed_when", "failed_when", "loop_control", "bogus"]
)  # fmt: skip
PLAY_KEYS = st.sampled_from(
    ["name", "vars", "tasks", "handlers", "pre_tasks", "post_tasks", "params", "needs",
     "serial", "gather_facts", "vars_files", "roles", "import_playbook", "strategy", "retry",
     "rollback", "connection", "bogus"]
)  # fmt: skip
ARGS = (
    SCALARS
    | st.sampled_from(["tasks.yml", "missing.yml", "site.yml", "{{ f }}", "../x.yml", "/"])
    | st.dictionaries(
        st.sampled_from(["msg", "cmd", "path", "state", "src", "dest", "var", "that", "x"]),
        SCALARS | st.lists(SCALARS, max_size=3),
        max_size=3,
    )
)


@st.composite
def task(draw: Any, depth: int = 0) -> dict[Any, Any]:
    entry: dict[Any, Any] = {draw(STEP_NAMES): draw(ARGS)}
    for key in draw(st.lists(KEYWORDS, max_size=3)):
        entry[key] = (
            draw(DATA) if depth >= 1 else draw(DATA | st.lists(task(depth + 1), max_size=2))
        )
    return entry


@st.composite
def play(draw: Any) -> dict[Any, Any]:
    entry: dict[Any, Any] = {"hosts": draw(st.sampled_from(["all", "web", "", "{{ h }}", "a:b"]))}
    for key in draw(st.lists(PLAY_KEYS, max_size=4)):
        entry[key] = draw(st.lists(task(), max_size=3) | DATA)
    return entry


PLAYBOOK_TEXT = (
    mutated(dumped(st.lists(play(), min_size=1, max_size=2)), YAML_PIECES)
    | dumped(st.lists(play(), min_size=1, max_size=2))
    | YAML_TEXT
)


@bounded(150)
@given(text=PLAYBOOK_TEXT, tasks=PLAYBOOK_TEXT)
def test_playbook_loader_loads_or_fails_cleanly(text: str, tasks: str) -> None:
    steps, keywords = registry().steps, registry().play_keywords
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "site.yml").write_text(text, encoding="utf-8")
        (directory / "tasks.yml").write_text(tasks, encoding="utf-8")
        result = outcome(lambda: load_playbook(directory / "site.yml", steps, keywords))
    if isinstance(result, CorralError):
        assert isinstance(result, PlaybookError | InventoryError), repr(result)


def test_the_loader_under_test_accepts_a_plain_playbook(tmp_path: Path) -> None:
    """The property above runs the real loader with every built-in step registered."""
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "tasks": [{"debug": {"msg": "hi"}}]}]))
    assert len(load_playbook(path, registry().steps, registry().play_keywords).plays) == 1

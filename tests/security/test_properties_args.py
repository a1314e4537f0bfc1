"""Any string written after a step name gives arguments or a clean error, in bounded time.

Properties over the ``key=value`` shorthand (``file: path=/tmp/x state=directory``), the
free form (``shell: echo hi chdir=/tmp``) and the schema check that follows, for every
built-in step type. Inputs are arbitrary text and near-valid argument strings (quotes,
escapes, repeated and unknown keys, options the step knows).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest
from fuzzing import bounded, memory_cap, mutated, outcome
from hypothesis import given
from hypothesis import strategies as st

from corral.errors import CorralError, Location, PlaybookError
from corral.playbook.args import check_args, free_form_options, normalize_args
from corral.plugins import build_registry, make_plugin_manager
from corral.steps import StepType

WHERE = Location("site.yml", 3, 7)


@pytest.fixture(autouse=True, scope="module")
def _memory_bound() -> Iterator[None]:
    with memory_cap():
        yield


@cache
def step_types() -> tuple[StepType, ...]:
    """Every built-in step type (a cached tuple, so failures print a name, not a registry)."""
    return tuple(build_registry(make_plugin_manager()).steps.values())


WORDS = st.sampled_from(
    ["echo", "hi", "a=b", "=", "==", "=x", "x=", "chdir=/tmp", "creates=/x", "removes=",
     "path=/tmp/x", "state=directory", "mode=0644", "cmd=ls", "argv=x", "msg=hi", "var=x",
     "'a b'", '"a b"', "'", '"', "\\", "\\'", "'a'b\"c\"", "#", "# c", "k='v w'", 'k="v',
     "1k=v", "é=v", "k=é", "{{ x }}", "k={{ x }}", "k=\"{{ x | default('a b') }}\"",
     "\t", "\n", "", "  "]
)  # fmt: skip
ARG_TEXT = st.lists(WORDS | st.text(max_size=8), max_size=8).map(" ".join)


@bounded(400)
@given(
    step=st.sampled_from(step_types()).map(lambda s: s.name),
    text=st.text(max_size=200) | ARG_TEXT | mutated(ARG_TEXT, WORDS),
)
def test_step_argument_strings_parse_or_fail_cleanly(step: str, text: str) -> None:
    step_type = next(s for s in step_types() if s.name == step)

    def parse_and_check() -> dict[str, object]:
        args = normalize_args(step_type, text, WHERE)
        check_args(step_type, args, WHERE)
        return args

    result = outcome(parse_and_check)
    if isinstance(result, CorralError):
        assert isinstance(result, PlaybookError)
        assert result.location is not None


@bounded(200)
@given(
    step=st.sampled_from([s.name for s in step_types() if s.free_form]),
    words=st.lists(
        st.text(alphabet=st.characters(blacklist_characters=" \t\n\r'\"{}\\#"), min_size=1)
        | st.sampled_from(["chdir=/tmp", "creates=/x", "warn=no", "a=b", "action=x", "msg=hi"])
    ),
)
def test_free_form_keeps_every_word_it_does_not_take(step: str, words: list[str]) -> None:
    """Only the step's options are taken out (anywhere, as Ansible); other words stay in order."""
    step_type = next(s for s in step_types() if s.name == step)
    assert step_type.free_form is not None
    text = " ".join(["run", *words])
    result = outcome(lambda: normalize_args(step_type, text, WHERE))
    options = free_form_options(step_type)
    assert options is not None

    def is_option(word: str) -> bool:
        position = word.find("=", 1)
        return position > 0 and word[:position] in options

    assert not isinstance(result, CorralError)
    kept = [w for w in text.split() if not is_option(w)]
    assert str(result.get(step_type.free_form, "")).split() == kept

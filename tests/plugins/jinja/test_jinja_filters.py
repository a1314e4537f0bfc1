"""Filters and tests, table-driven. Expected values were checked against ansible-core 2.19."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.playbook.templating.templar import Templar

VARS: dict[str, Any] = {
    "port": 80,
    "lst": [3, 1, 2, 1],
    "d": {"b": 1, "a": {"x": [1]}},
    "e": {"a": {"x": [2]}, "c": 3},
    "s": "Hello World",
    "n": None,
    "users": [{"name": "ann", "admin": True}, {"name": "bob", "admin": False}],
}


@pytest.fixture(scope="module")
def templar() -> Templar:
    return jinja_templar()


FILTER_CASES: list[tuple[str, Any]] = [
    # default / d
    ("{{ nope | default('x') }}", "x"),
    ("{{ '' | default('x') }}", ""),
    ("{{ '' | default('x', true) }}", "x"),
    ("{{ '' | d('x', true) }}", "x"),
    ("{{ n | default('x') }}", None),
    # Jinja2 built-ins people use every day
    ("{{ lst | join(',') }}", "3,1,2,1"),
    ("{{ lst | length }}", 4),
    ("{{ '42' | int }} {{ '4.5' | float }} {{ port | string }}", "42 4.5 80"),
    (
        "{{ s | upper }}|{{ s | lower }}|{{ s | replace('World', 'you') }}",
        "HELLO WORLD|hello world|Hello you",
    ),
    ("{{ '  x ' | trim }}", "x"),
    (
        "{{ lst | first }} {{ lst | last }} {{ lst | min }} {{ lst | max }} {{ lst | sum }}",
        "3 1 1 3 7",
    ),
    ("{{ lst | sort }}", [1, 1, 2, 3]),
    ("{{ -3 | abs }} {{ 2.567 | round(1) }}", "3 2.6"),
    ("{{ 'ab' | list }}", ["a", "b"]),
    # map / select / reject / selectattr / rejectattr return lists
    ("{{ lst | map('string') | join('-') }}", "3-1-2-1"),
    ("{{ users | map(attribute='name') }}", ["ann", "bob"]),
    ("{{ lst | select('gt', 1) }}", [3, 2]),
    ("{{ lst | reject('gt', 1) }}", [1, 1]),
    ("{{ users | selectattr('admin') | map(attribute='name') }}", ["ann"]),
    ("{{ users | rejectattr('admin') | map(attribute='name') | first }}", "bob"),
    ("{{ lst | map('string') | length }}", 4),
    # bool: yes/on/true/1 in any case are true, anything else false (as in 2.19)
    (
        "{{ 'yes' | bool }} {{ 'On' | bool }} {{ 'TRUE' | bool }} {{ '1' | bool }} {{ 1 | bool }}",
        "True True True True True",
    ),
    (
        "{{ 'no' | bool }} {{ 'off' | bool }} {{ 0 | bool }} {{ 'maybe' | bool }} {{ n | bool }}",
        "False False False False False",
    ),
    (
        "{{ true | ternary('y', 'n') }} {{ 0 | ternary('y', 'n') }} "
        "{{ n | ternary('y', 'n', 'z') }}",
        "y n z",
    ),
    # JSON and YAML
    ("{{ d | to_json }}", '{"b": 1, "a": {"x": [1]}}'),
    (
        "{{ d | to_nice_json }}",
        '{\n    "a": {\n        "x": [\n            1\n        ]\n    },\n    "b": 1\n}',
    ),
    ("{{ '{\"a\": [1, 2]}' | from_json }}", {"a": [1, 2]}),
    ("{{ d | to_yaml }}", "a:\n  x: [1]\nb: 1\n"),
    ("{{ d | to_nice_yaml }}", "a:\n    x:\n    - 1\nb: 1\n"),
    ("{{ 'a: [1, 2]' | from_yaml }}", {"a": [1, 2]}),
    ("{{ 'a: 1\n---\nb: 2' | from_yaml_all }}", [{"a": 1}, {"b": 2}]),
    # regular expressions (backslashes as a double-quoted YAML string delivers them)
    ("{{ s | regex_replace('o', '0') }}", "Hell0 W0rld"),
    ("{{ s | regex_replace('(l+)', '<\\1>') }}", "He<ll>o Wor<l>d"),
    ("{{ s | regex_replace('WORLD', 'you', ignorecase=true) }}", "Hello you"),
    ("{{ s | regex_replace('\\s', '_') }}", "Hello_World"),
    ("{{ s | regex_search('W\\w+') }}", "World"),
    ("{{ s | regex_search('W(or)ld', '\\1') }}", ["or"]),
    ("{{ s | regex_search('(?P<w>W\\w+)', '\\g<w>') }}", ["World"]),
    ("{{ s | regex_search('xyz') }}", None),
    ("{{ s | regex_findall('l') }}", ["l", "l", "l"]),
    ("{{ s | regex_findall('(l)(o)') }}", [("l", "o")]),
    ("{{ 'a.b' | regex_escape }}", "a\\.b"),
    # lists and dicts
    ("{{ d | combine(e) }}", {"b": 1, "a": {"x": [2]}, "c": 3}),
    (
        "{{ d | combine(e, recursive=True, list_merge='append') }}",
        {"b": 1, "a": {"x": [1, 2]}, "c": 3},
    ),
    (
        "{{ d | combine(e, recursive=True, list_merge='prepend') }}",
        {"b": 1, "a": {"x": [2, 1]}, "c": 3},
    ),
    ("{{ [d, e] | combine }}", {"b": 1, "a": {"x": [2]}, "c": 3}),
    ("{{ {'a': {'y': 1}} | combine({'a': {'z': 2}}, recursive=true) }}", {"a": {"y": 1, "z": 2}}),
    ("{{ {'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='append_rp') }}", {"l": [1, 2, 3]}),
    ("{{ lst | unique }}", [3, 1, 2]),
    ("{{ [{'a': 1}, {'a': 1}] | unique }}", [{"a": 1}]),
    ("{{ lst | difference([1]) }}", [3, 2]),  # order kept (Ansible's is set order)
    ("{{ lst | intersect([1, 2]) }}", [1, 2]),
    ("{{ lst | union([5]) }}", [3, 1, 2, 5]),
    ("{{ [1, 2] | symmetric_difference([2, 3]) }}", [1, 3]),
    ("{{ [1, [2, [3, [4]]]] | flatten }}", [1, 2, 3, 4]),
    ("{{ [1, [2, [3, [4]]]] | flatten(levels=1) }}", [1, 2, [3, [4]]]),
    ("{{ [1, None, 'null', [2]] | flatten }}", [1, 2]),
    ("{{ d | dict2items }}", [{"key": "b", "value": 1}, {"key": "a", "value": {"x": [1]}}]),
    ("{{ {'a': 1} | dict2items(key_name='k', value_name='v') }}", [{"k": "a", "v": 1}]),
    ("{{ [{'key': 'a', 'value': 1}] | items2dict }}", {"a": 1}),
    ("{{ [{'n': 'a', 'v': 1}] | items2dict(key_name='n', value_name='v') }}", {"a": 1}),
    ("{{ [1, 2] | zip(['a', 'b']) }}", [[1, "a"], [2, "b"]]),
    ("{{ [1, 2, 3] | zip_longest(['a']) }}", [[1, "a"], [2, None], [3, None]]),
    ("{{ ['a', 'b'] | zip([1, 2]) | dict }}", {"a": 1, "b": 2}),
    ("{{ dict(['a', 'b'] | zip([1, 2])) }}", {"a": 1, "b": 2}),
    ("{{ [1, 2] | product(['x']) }}", [[1, "x"], [2, "x"]]),
    ("{{ 'a,b,c' | split(',') }}", ["a", "b", "c"]),
    ("{{ 'a b  c' | split }}", ["a", "b", "c"]),
    ("{{ ['a', 'b'] | map('extract', {'a': 1, 'b': 2}) }}", [1, 2]),
    # paths, encodings, hashes, shell
    ("{{ 'a b' | quote }}", "'a b'"),
    ('{{ "it\'s" | quote }}', "'it'\"'\"'s'"),
    ("{{ n | quote }}", "''"),
    ("{{ '/a/b/c.txt' | basename }} {{ '/a/b/c.txt' | dirname }}", "c.txt /a/b"),
    ("{{ '/a/b/c.txt' | splitext }}", ["/a/b/c", ".txt"]),
    ("{{ ['a', 'b'] | path_join }}", "a/b"),
    ("{{ 'abc' | b64encode }} {{ 'YWJj' | b64decode }}", "YWJj abc"),
    (
        "{{ 'abc' | hash('sha256') }}",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    ("{{ 'abc' | hash }}", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("{{ 'abc' | hash('md5') }}", "900150983cd24fb0d6963f7d28e17f72"),
    ("{{ 'abc' | checksum }}", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    # misc
    ("{{ port | type_debug }}", "int"),
    ("{{ 'x' | mandatory }}", "x"),
    ("{{ '1.10' | version('1.9', '>') }}", True),
    ("{{ '1.2' | version_compare('1.2.1', 'lt') }}", True),
]


@pytest.mark.parametrize(("text", "expected"), FILTER_CASES)
def test_filter(templar: Templar, text: str, expected: Any) -> None:
    assert templar.render_string(text, VARS) == expected


TEST_CASES: list[tuple[str, bool]] = [
    ("port is defined", True),
    ("nope is undefined", True),
    ("{'failed': true} is failed", True),
    ("{'failed': true} is failure", True),
    ("{'failed': false} is success", True),
    ("{'rc': 0} is succeeded", True),
    ("{'changed': true} is changed", True),
    ("{'changed': false} is change", False),
    ("{'results': [{'changed': false}, {'changed': true}]} is changed", True),
    ("{'skipped': true} is skipped", True),
    ("{} is skip", False),
    ("{'unreachable': true} is unreachable", True),
    ("s is match('Hell')", True),
    ("s is match('World')", False),
    ("s is search('World')", True),
    ("s is regex('w.rld', ignorecase=true)", True),
    ("s is regex('^World', match_type='match')", False),
    ("'1.10' is version('1.9', '>')", True),
    ("'1.10' is version('1.9', 'gt')", True),
    ("'1.2.3' is version('1.2.3', '==')", True),
    ("'1.2.3' is version('1.2.3')", True),
    ("'2.0' is version_compare('10.0', 'lt')", True),
    ("'2.0' is version('10.0', '>=')", False),
    ("'1.0.0' is version('1.0', '!=')", True),
    ("'1.0rc1' is version('1.0', '>')", True),
    ("'yes' is truthy", True),
    ("'no' is truthy", True),
    ("'no' is truthy(convert_bool=true)", False),
    ("'' is falsy", True),
    ("[true, false] is any", True),
    ("[true, false] is all", False),
    ("'a' in ['a']", True),
    ("lst is contains(2)", True),
    ("[1, 2] is subset([1, 2, 3])", True),
    ("[1, 2, 3] is superset([3])", True),
    ("s is string", True),
    ("port is number", True),
    ("d is mapping", True),
    ("lst is sequence", True),
    ("d is iterable", True),
    ("n is none", True),
]


@pytest.mark.parametrize(("expression", "expected"), TEST_CASES)
def test_jinja_test(templar: Templar, expression: str, expected: bool) -> None:
    assert templar.render_string("{{ " + expression + " }}", VARS) is expected


def test_path_tests_look_at_the_controller(templar: Templar, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    variables = {"dir": str(tmp_path), "file": str(tmp_path / "f"), "link": str(tmp_path / "link")}
    variables["gone"] = str(tmp_path / "gone")
    text = (
        "{{ file is file }} {{ dir is directory }} {{ file is exists }} {{ gone is exists }} "
        "{{ link is link }} {{ file is link }} {{ dir is abs }} {{ 'rel' is abs }}"
    )
    assert templar.render_string(text, variables) == "True True True False True False True False"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ 'x' is failed }}", "the 'failed' test expects a registered result (a dict), got str"),
        ("{{ '1.0' is version('2.0', '~') }}", "version: unknown operator '~'"),
        ("{{ '1.0' is version('2.0', strict=true) }}", "only loose version comparison"),
        ("{{ '' is version('2.0') }}", "cannot compare an empty version"),
        ("{{ d | combine(e, list_merge='merge') }}", "combine: list_merge must be one of"),
        ("{{ 'abc' | hash('nope') }}", "hash: unsupported hash type 'nope'"),
        ("{{ 'abc' | regex_search('b', 'x') }}", "regex_search: unknown argument 'x'"),
        ("{{ [1] | dict2items }}", "dict2items expects a mapping, got list"),
        ("{{ [1] | items2dict }}", "items2dict expects items with 'key' and 'value'"),
        ("{{ 'aaa' | regex_replace('a', 'b', mandatory_count=2) }}", "expected 2 replacements"),
    ],
)
def test_filter_and_test_misuse_is_a_clear_error(templar: Templar, text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string(text, VARS)
    assert message in caught.value.message


def test_to_yaml_round_trips_through_from_yaml(templar: Templar) -> None:
    data = {"list": [1, "two", None], "nested": {"t": (1, 2)}, "text": "multi\nline"}
    dumped = templar.render_string("{{ data | to_nice_yaml }}", {"data": data})
    assert yaml.safe_load(dumped) == {
        "list": [1, "two", None],
        "nested": {"t": [1, 2]},
        "text": "multi\nline",
    }


def test_yaml_string_backslashes_stay_literal_inside_expressions(templar: Templar) -> None:
    # What a double-quoted YAML "{{ x | regex_replace('(\\d+)', '<\\1>') }}" becomes.
    text = "{{ x | regex_replace('(\\d+)', '<\\1>') }} \\1"
    assert templar.render_string(text, {"x": "a12"}) == "a<12> \\1"

"""corral splits ``key=value`` argument strings exactly as ansible-core does.

Each input goes through corral's ``parse_kv``/``split_args`` and through
``ansible.parsing.splitter``'s; the results (or the fact that both refuse the
input) must be the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from corral.playbook.splitter import SplitError, parse_kv, split_args

ansible_splitter = pytest.importorskip("ansible.parsing.splitter")

INPUTS = [
    "",
    "a=b",
    "a=b c=d",
    "a=b  c=d",
    " a=b c=d ",
    "path={{ d }} state=directory",
    "path={{ d ~ '/x y' }} state=directory",
    "touch {{ f }} creates={{ f }}",
    "touch {{ f }} chdir={{ d }}",
    "chdir=/tmp ls -l",
    "echo a=b",
    "echo a=b creates=/x removes=/y",
    "echo hi warn=false",
    "echo 'a b' c",
    'echo "a b" c',
    'msg="hello world"',
    "msg='hello world'",
    'msg="it\'s here"',
    'a="b \\"c\\" d"',
    "a=b\\=c",
    "a\\=b",
    "a\\=b=c",
    "=a",
    "a==b",
    "a=",
    "key = value",
    "{% if x %}a=1{% endif %}",
    "{% if x %} a=1 {% else %} a=2 {% endif %}",
    "echo {# a comment #} done",
    "msg={{ 'a b' | upper }}",
    "msg={{ {'a': 1} }}",
    "msg={{ x }}{{ y }}",
    "msg='{{ x }}' other={{ y | default('z z') }}",
    "echo one\ntwo",
    "echo one \\\ntwo",
    "echo 'one\ntwo' three",
    "a=1\nb=2",
    "a=\\n b=\\t",
    "a=\\u00e9 b=\\x41",
    "echo $HOME && ls | wc -l",
    "executable=/bin/bash echo hi",
    "stdin=hello stdin_add_newline=no cat",
    "strip_empty_ends=false echo",
    "a='b' c=\"d\"",
    "'a=b'",
    "a=b'c d'",
    'echo "{{ x }}" > /tmp/out',
    "   ",
    "x={{ y }}z w=1",
]
UNBALANCED = ["a='b", 'a="b', "a={{ b", "a={% if %}", "echo {# x"]


def _ansible(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        return type(exc).__name__


def _corral(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except SplitError:
        return "AnsibleParserError"


def _plain(value: Any) -> Any:
    """Ansible's results carry tags; compare plain strings."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


@pytest.mark.parametrize("text", INPUTS + UNBALANCED)
def test_split_args_matches_ansible(text: str) -> None:
    expected = _plain(_ansible(ansible_splitter.split_args, text))
    assert _corral(split_args, text) == expected


@pytest.mark.parametrize("check_raw", [False, True], ids=["kv", "free-form"])
@pytest.mark.parametrize("text", INPUTS + UNBALANCED)
def test_parse_kv_matches_ansible(text: str, check_raw: bool) -> None:
    expected = _plain(_ansible(ansible_splitter.parse_kv, text, check_raw=check_raw))
    assert _corral(parse_kv, text, check_raw=check_raw) == expected

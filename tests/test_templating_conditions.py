"""Conditions: ``when``, ``failed_when``, ``changed_when``, ``until`` and ``assert that``."""

from __future__ import annotations

from typing import Any

import pytest
from jinja_templar import jinja_templar

from corral.errors import Location, TemplateError
from corral.playbook.templating.templar import Templar, Verbatim
from corral.secrets import Secret

VARS: dict[str, Any] = {
    "port": 80,
    "items": [3, 1, 2],
    "s": "Hello World",
    "nothing": None,
    "flag_no": "no",
    "flag_yes": "Yes",
    "word": "hello",
    "empty": "",
    "result": Verbatim({"rc": 0, "stdout": "ok {{ not rendered }}", "changed": False}),
    "threshold": "{{ 40 + 2 }}",
    "token": Secret("t0ken"),
}


@pytest.fixture(scope="module")
def templar() -> Templar:
    return jinja_templar()  # with Ansible's filters and tests, as every run has them


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("port == 80", True),
        ("port != 80", False),
        ("items | length > 2", True),
        ("'World' in s", True),
        ("s is search('W')", True),
        pytest.param(  # bare conditions are not YAML-escaped, as in Ansible
            "s is search('\\sW')",
            True,
            marks=pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning"),
        ),
        ("nothing is none", True),
        ("undefined_thing is not defined", True),
        ("undefined_thing is defined and undefined_thing > 1", False),  # short-circuits
        ("port is defined and port > 10", True),
        ("result.rc == 0 and not result.changed", True),
        ("result is succeeded", True),
        ("'not rendered' in result.stdout", True),
        ("threshold == 42", True),  # templated variables are rendered, natively
        ("token == 't0ken'", True),
        ("flag_no", False),  # strings follow the bool filter...
        ("flag_yes", True),
        ("word", True),  # ...other non-empty strings are true
        ("empty", False),
        ("items", True),
        ("nothing", False),
        ("{{ port == 80 }}", True),  # wrapped in braces: accepted
        ("  port == 80\n", True),
        ("port ==\n  80", True),  # folded YAML conditions span lines
    ],
)
def test_bare_expressions(templar: Templar, condition: str, expected: bool) -> None:
    assert templar.evaluate_condition(condition, VARS) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (True, True),
        (False, False),
        (None, True),
        ("", True),
        (["port == 80", "items | length == 3"], True),
        (["port == 80", "port == 81"], False),
        ([True, "port > 1"], True),
        ([], True),
        (1, True),
        (0, False),
    ],
)
def test_booleans_lists_and_empty_conditions(
    templar: Templar, condition: Any, expected: bool
) -> None:
    assert templar.evaluate_condition(condition, VARS) is expected


def test_a_list_stops_at_the_first_false_condition(templar: Templar) -> None:
    assert templar.evaluate_condition(["port == 81", "undefined_thing > 1"], VARS) is False


def test_undefined_variable_in_a_condition_is_an_error(templar: Templar) -> None:
    where = Location("site.yml", 9, 13)
    with pytest.raises(TemplateError) as caught:
        templar.evaluate_condition(
            "prot == 80", VARS, location=where, what="the 'when' condition of task 'x'"
        )
    error = caught.value
    assert error.message == "undefined variable 'prot' in the 'when' condition of task 'x'"
    assert error.hint == "did you mean 'port'?"
    assert error.location == where


def test_templates_inside_a_condition_are_refused(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.evaluate_condition('port == "{{ port }}"', VARS)
    assert caught.value.message.startswith("a condition must not contain '{{ }}'")
    assert caught.value.hint is not None
    assert "without braces" in caught.value.hint


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("port ==", "template syntax error"),
        ("port == 80 }}", "template syntax error"),
        ("port = 80", "template syntax error"),
        ({"port": 80}, "a condition must be an expression, a boolean or a list, not dict"),
    ],
)
def test_malformed_conditions(templar: Templar, condition: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        templar.evaluate_condition(condition, VARS)

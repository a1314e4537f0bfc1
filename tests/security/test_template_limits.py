"""Templates cannot exhaust the controller's memory or CPU (issue 14, item 11).

Each case is a playbook a careless or hostile author could write. Before the limits,
each ran for minutes or took gigabytes; now each ends in a clean failed task whose
one-line message names the limit, well within a generous time bound. Ordinary
templates (covered by tests/plugins/jinja and tests/test_templating_*.py) are
unaffected; the last tests here check that ordinary-sized uses still work.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from corral.testing import CliResult, CorralProject

HOSTS = "localhost ansible_connection=local\n"
TIME_BOUND = 20.0  # seconds; generous, so a loaded CI machine never fails spuriously

pytestmark = pytest.mark.timeout(120)


def _run(corral_project: CorralProject, template: str, **env: str) -> tuple[CliResult, float]:
    playbook = [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [{"name": "render", "debug": {"msg": template}}],
        }
    ]
    corral_project.write("site.yml", json.dumps(playbook))
    corral_project.write("hosts.ini", HOSTS)
    started = time.monotonic()
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json", env=env)
    return result, time.monotonic() - started


def _task_result(result: CliResult) -> dict[str, Any]:
    for event in result.json_lines():
        if event.get("event") == "task_result":
            data: dict[str, Any] = event["result"]
            return data
    raise AssertionError(f"no task result in output:\n{result.output[-3000:]}")


def _assert_refused(result: CliResult, elapsed: float, *words: str) -> str:
    assert elapsed < TIME_BOUND, f"took {elapsed:.1f}s"
    assert result.exit_code == 2, result.output[-3000:]
    assert "Traceback" not in result.output
    data = _task_result(result)
    assert data.get("failed") is True, str(data)[:3000]
    assert "exception" not in data, data
    message = str(data["msg"])
    assert "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize(
    ("template", "words"),
    [
        pytest.param("{{ 'x'.center(2000000000) }}", ("string", "limit"), id="center"),
        pytest.param("{{ 'x' | center(2000000000) }}", ("string", "limit"), id="center-filter"),
        pytest.param("{{ 'x'.zfill(2000000000) }}", ("string", "limit"), id="zfill"),
        pytest.param("{{ '%01000000000d' % 1 }}", ("width", "limit"), id="percent-width"),
        pytest.param("{{ '%.1000000000f' % 1.5 }}", ("width", "limit"), id="percent-precision"),
        pytest.param("{{ '%01000000000d' | format(1) }}", ("width", "limit"), id="format-filter"),
        pytest.param("{{ '{:>1000000000}'.format(1) }}", ("width", "limit"), id="str-format"),
        pytest.param(
            "{{ '{:>{w}}'.format(1, w=1000000000) }}", ("width", "limit"), id="str-format-nested"
        ),
        pytest.param(
            "{{ ('x' * 1000000).replace('', 'yyyyyyyyyy') }}", ("string", "limit"), id="replace"
        ),
        pytest.param(
            "{{ ('x' * 1000000).replace('x', 'y' * 1000) }}", ("string", "limit"), id="replace-2"
        ),
        pytest.param(
            "{{ ('-' * 1000000).join(range(100000) | map('string')) }}",
            ("string", "limit"),
            id="str-join",
        ),
        pytest.param(
            "{{ range(100000) | join('-' * 1000000) }}", ("string", "limit"), id="join-filter"
        ),
        pytest.param(
            "{{ ('\t' * 1000000).expandtabs(100000) }}", ("string", "limit"), id="expandtabs"
        ),
        pytest.param("{{ 'x' | indent(2000000000) }}", ("string", "limit"), id="indent"),
        pytest.param(
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
            ("string", "limit"),
            id="concat-doubling",
        ),
        pytest.param(
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
            ("string", "limit"),
            id="plus-doubling",
        ),
        pytest.param(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done",
            ("iterations", "limit"),
            id="nested-range",
        ),
        pytest.param(
            "{% for i in 'x' * 100000 %}{% for j in 'x' * 100000 %}{% endfor %}{% endfor %}done",
            ("iterations", "limit"),
            id="nested-string-loops",
        ),
        pytest.param(
            "{% for i in range(1000) %}{{ 'x' * 9000000 }}{% endfor %}",
            ("output", "limit"),
            id="output-size",
        ),
        pytest.param(
            "{{ range(20) | permutations | length }}", ("permutations", "limit"), id="permutations"
        ),
        pytest.param(
            "{{ range(100) | combinations(10) | length }}",
            ("combinations", "limit"),
            id="combinations",
        ),
        pytest.param(
            "{{ [range(100), range(100), range(100), range(100)] | first | product(range(100),"
            " range(100), range(100)) | length }}",
            ("product", "limit"),
            id="product",
        ),
        pytest.param(
            "{% set ns = namespace(x=[]) %}{% for i in range(5000) %}"
            "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
            ("nested", "levels"),
            id="deep-nesting",
        ),
        pytest.param("{{ 10 ** 5000 }}", ("digits",), id="huge-int-power"),
        pytest.param("{{ (10 ** 3000) * (10 ** 3000) }}", ("digits",), id="huge-int-product"),
    ],
)
def test_template_exhaustion_is_a_clean_task_error(
    corral_project: CorralProject, template: str, words: tuple[str, ...]
) -> None:
    result, elapsed = _run(corral_project, template)
    _assert_refused(result, elapsed, *words)


def test_catastrophic_regex_runs_in_linear_time(corral_project: CorralProject) -> None:
    """``(a+)+$`` backtracks exponentially in Python's ``re``; RE2 answers at once."""
    template = (
        "{{ [('a' * 100000 + '!') | regex_search('(a+)+$'),"
        " ('a' * 100000 + '!') is search('(a+)+$'),"
        " ('a' * 100000 + '!') is match('(a+)+$'),"
        " ('a' * 100000 + '!') | regex_findall('(a+)+$'),"
        " ('a' * 100000 + '!') | regex_replace('(a+)+$', 'x') | length] }}"
    )
    result, elapsed = _run(corral_project, template)
    assert elapsed < TIME_BOUND, f"took {elapsed:.1f}s"
    assert result.exit_code == 0, result.output[-3000:]
    assert _task_result(result)["msg"] == [None, False, False, [], 100001]


def test_catastrophic_regex_re2_cannot_express_is_stopped(corral_project: CorralProject) -> None:
    """A backreference needs a backtracking engine; it runs under a time limit."""
    template = "{{ ('a' * 40 + '!') | regex_search('^(a|aa)+\\1$') }}"
    result, elapsed = _run(corral_project, template, CORRAL_TEMPLATE_REGEX_TIMEOUT="1")
    _assert_refused(result, elapsed, "regex_search", "time limit")


def test_limits_are_configurable(corral_project: CorralProject) -> None:
    result, elapsed = _run(
        corral_project, "{{ 'x'.center(1000) }}", CORRAL_TEMPLATE_MAX_STRING="100"
    )
    _assert_refused(result, elapsed, "string", "100", "CORRAL_TEMPLATE_MAX_STRING")
    result, elapsed = _run(
        corral_project,
        "{% for i in range(200) %}{% endfor %}done",
        CORRAL_TEMPLATE_MAX_ITERATIONS="100",
    )
    _assert_refused(result, elapsed, "iterations", "100", "CORRAL_TEMPLATE_MAX_ITERATIONS")


def test_ordinary_sizes_still_work(corral_project: CorralProject) -> None:
    template = (
        "{{ ['x'.center(9), 'x' | center(9), '%05d' % 42, '{:>6}'.format('ab'),"
        " '%.2f' | format(3.14159), 'a-b'.replace('-', '+'), ','.join(['a', 'b']),"
        " range(3) | join(':'), 'foo bar' | regex_replace('(?<=foo) ', '_'),"
        " 'v1.2.3' | regex_search('v(\\d+)', '\\1'), 'abcabc' | regex_findall('(a)(b)'),"
        " 'Host: x' is match('host:', ignorecase=true),"
        " 'a\nb' | regex_findall('^\\w$', multiline=true),"
        " 'line\n' | regex_search('line$'), 'aa' | regex_replace('(a)\\1', 'double'),"
        " range(4) | permutations(2) | length, range(4) | combinations(2) | length,"
        " [1, 2] | product([3, 4]) | length, 2 ** 64] }}"
        "{% for i in range(1000) %}{% for j in range(100) %}{% endfor %}{% endfor %}"
    )
    result, _ = _run(corral_project, template)
    assert result.exit_code == 0, result.output[-3000:]
    assert _task_result(result)["msg"] == [
        *("    x    ", "    x    ", "00042", "    ab", "3.14", "a+b", "a,b", "0:1:2", "foo_bar"),
        *(["1"], [["a", "b"], ["a", "b"]], True, ["a", "b"], "line", "double"),
        *(12, 6, 4, 18446744073709551616),
    ]


def test_lookups_and_template_files_read_within_the_string_limit(
    corral_project: CorralProject,
) -> None:
    corral_project.write("big.txt", "x" * 500 + "\n")
    result, elapsed = _run(
        corral_project, "{{ lookup('file', 'big.txt') | length }}", CORRAL_TEMPLATE_MAX_STRING="100"
    )
    _assert_refused(result, elapsed, "big.txt", "bytes", "limit", "CORRAL_TEMPLATE_MAX_STRING")
    result, _ = _run(corral_project, "{{ lookup('file', 'big.txt') | length }}")
    assert _task_result(result)["msg"] == 500

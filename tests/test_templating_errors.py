"""Errors a user sees: undefined names, syntax errors, the sandbox, plugin clashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja_templar import jinja_templar

from corral.errors import Location, PluginLoadError, TemplateError
from corral.playbook.templating.function_type import LookupScope, TemplateFunction
from corral.playbook.templating.templar import Templar


@pytest.fixture(scope="module")
def templar() -> Templar:
    return jinja_templar()  # with Ansible's filters and tests, as every run has them


def test_undefined_variable_names_it_and_suggests_close_matches(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ versoin }}", {"version": "1.2", "other": 1})
    error = caught.value
    assert error.message == "undefined variable 'versoin'"
    assert error.hint == "did you mean 'version'?"


def test_undefined_variable_without_close_match_suggests_a_default(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ zzz }}", {"version": 1})
    assert caught.value.hint is not None
    assert "zzz | default(" in caught.value.hint


def test_errors_carry_what_and_where(templar: Templar) -> None:
    where = Location("site.yml", 12, 7)
    with pytest.raises(TemplateError) as caught:
        templar.render(
            {"shell": "apt-get install app={{ versoin }}"},
            {"version": "1"},
            location=where,
            what="task 'Install package'",
        )
    error = caught.value
    assert error.message == "undefined variable 'versoin' in task 'Install package'"
    assert error.location == where
    assert str(error) == "site.yml:12:7: undefined variable 'versoin' in task 'Install package'"


@pytest.mark.parametrize(
    "text",
    [
        "{{ missing }}",
        "x {{ missing }}",
        "{{ missing + 1 }}",
        "{{ missing | upper }}",
        "{{ missing.attr }}",
        "{% for x in missing %}{% endfor %}",
        "{% if missing %}{% endif %}",
        "{{ missing == 1 }}",
    ],
)
def test_every_use_of_an_undefined_variable_fails(templar: Templar, text: str) -> None:
    with pytest.raises(TemplateError, match="undefined variable 'missing'"):
        templar.render_string(text, {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ missing is defined }}", False),
        ("{{ missing is undefined }}", True),
        ("{{ missing | default('d') }}", "d"),
        ("{{ missing.deeper | default('d') }}", "d"),  # chained access, as in Ansible
        ("{{ missing.deeper is defined }}", False),
        ("{{ result.nope | default(0) }}", 0),
    ],
)
def test_defined_and_default_accept_undefined_values(
    templar: Templar, text: str, expected: object
) -> None:
    assert templar.render_string(text, {"result": {"rc": 0}}) == expected


def test_missing_dict_key_names_it_and_suggests_keys(templar: Templar) -> None:
    result = {"stdout": "ok", "stderr": "", "rc": 0}
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ result.stdoutt }}", {"result": result})
    assert caught.value.message == "object of type 'dict' has no attribute 'stdoutt'"
    assert caught.value.hint == "did you mean 'stdout'?"


def test_missing_dict_key_without_close_match_lists_the_keys(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ result['xyz'] }}", {"result": {"rc": 0, "stdout": ""}})
    assert caught.value.hint == "its keys are: rc, stdout"


def test_missing_list_item_is_named(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="object of type 'list' has no item 5"):
        templar.render_string("{{ items[5] }}", {"items": [1]})


def test_undefined_inside_a_templated_variable_says_which_variable(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ url }}", {"url": "http://{{ hots }}/", "host": "h"})
    assert caught.value.message == "undefined variable 'hots' in the value of 'url'"
    assert caught.value.hint == "did you mean 'host'?"


def test_syntax_error_notes_the_line_inside_the_template(templar: Templar) -> None:
    text = "line one\nline two {{ x }\nline three"
    with pytest.raises(TemplateError) as caught:
        templar.render_string(text, {"x": 1}, what="task 'configure'")
    message = caught.value.message
    assert message.startswith("template syntax error in task 'configure': ")
    assert "(line 2 of the template)" in message


def test_unknown_filter_and_test_suggest_close_names(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ x | to_nice_jsno }}", {"x": 1})
    assert caught.value.message == "unknown filter 'to_nice_jsno'"
    assert caught.value.hint is not None
    assert "'to_nice_json'" in caught.value.hint
    with pytest.raises(TemplateError, match="unknown test 'sucess'") as caught:
        templar.render_string("{{ r is sucess }}", {"r": {}})
    assert caught.value.hint is not None
    assert "'success'" in caught.value.hint


def test_python_errors_in_expressions_become_template_errors(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ port + 'x' }}", {"port": 1})
    assert caught.value.message.startswith("template error: TypeError: ")
    assert caught.value.hint == "in template \"{{ port + 'x' }}\""


@pytest.mark.parametrize(
    "text", ["{% include 'x.j2' %}", "{% import 'm.j2' as m %}", "{% extends 'base.j2' %}"]
)
def test_template_loading_statements_are_not_supported(templar: Templar, text: str) -> None:
    with pytest.raises(TemplateError, match=r"\{% include %\}, \{% import %\} and"):
        templar.render_string(text, {})


def test_filter_errors_become_template_errors(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="JSONDecodeError"):
        templar.render_string("{{ 'not json' | from_json }}", {})
    with pytest.raises(TemplateError, match="mandatory variable 'nope' is not defined"):
        templar.render_string("{{ nope | mandatory }}", {})


# --- the sandbox ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__ is defined }}",  # refused, not quietly undefined
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ lookup.__globals__ }}",
        "{{ x.__subclasses__() }}",
        "{{ (1).__class__.__base__.__subclasses__() }}",
        "{{ [].__class__.__base__ }}",
        "{{ x['__class__'] }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ items.append(3) }}",  # the immutable sandbox refuses to modify data
        "{{ config.update({'a': 1}) }}",
        "{{ 'a' * 100000000 }}",
        "{{ 10 ** 10000000 }}",
    ],
)
def test_sandbox_escapes_are_refused(templar: Templar, text: str) -> None:
    variables = {"x": "s", "items": [1], "config": {}}
    with pytest.raises(TemplateError) as caught:
        templar.render_string(text, variables)
    assert caught.value.message.startswith("unsafe template operation refused")


def test_python_2_function_attributes_do_not_exist(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="has no attribute 'func_globals'"):
        templar.render_string("{{ lookup.func_globals }}", {})


def test_range_is_bounded(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="Range too big"):
        templar.render_string("{{ range(10 ** 8) | list }}", {})


def test_the_sandbox_still_allows_everyday_methods(templar: Templar) -> None:
    variables = {"s": "a,b", "d": {"k": 1}}
    assert templar.render_string("{{ s.split(',') }}", variables) == ["a", "b"]
    assert templar.render_string("{{ s.upper() }}", variables) == "A,B"
    assert templar.render_string("{{ d.get('k') }}", variables) == 1
    assert templar.render_string("{{ d.keys() | list }}", variables) == ["k"]
    assert templar.render_string("{{ '{} {}'.format(1, 2) }}", variables) == "1 2"


# --- plugin functions ------------------------------------------------------------------------


def test_plugin_filters_tests_and_lookups_are_added() -> None:
    templar = Templar(
        functions=[
            TemplateFunction("shout", lambda s: str(s).upper() + "!", "filter", plugin="loud"),
            TemplateFunction("even_port", lambda p: p % 2 == 0, "test", plugin="net"),
            TemplateFunction("dns", lambda *names: [f"10.0.0.{len(n)}" for n in names], "lookup"),
        ]
    )
    assert templar.render_string("{{ 'hi' | shout }}", {}) == "HI!"
    assert templar.render_string("{{ 8080 is even_port }}", {}) is True
    assert templar.render_string("{{ lookup('dns', 'abc') }}", {}) == "10.0.0.3"
    assert templar.render_string("{{ query('dns', 'a', 'bb') }}", {}) == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(
    ("name", "kind"), [("upper", "filter"), ("map", "filter"), ("defined", "test")]
)
def test_plugins_cannot_replace_built_ins(name: str, kind: str) -> None:
    with pytest.raises(PluginLoadError) as caught:
        Templar(functions=[TemplateFunction(name, str, kind, plugin="shadowy")])  # type: ignore[arg-type]
    assert caught.value.message == (
        f"plugin shadowy registers {kind} {name!r}, which is a built-in {kind}"
    )


@pytest.mark.parametrize(("name", "kind"), [("to_json", "filter"), ("file", "lookup")])
def test_plugins_cannot_replace_the_jinja_plugins_functions(name: str, kind: str) -> None:
    shadow = TemplateFunction(name, str, kind, plugin="shadowy")  # type: ignore[arg-type]
    with pytest.raises(PluginLoadError) as caught:
        jinja_templar(functions=(shadow,))
    assert caught.value.message == f"{kind} {name!r} registered by both jinja and shadowy"


def test_two_plugins_registering_one_name_is_an_error() -> None:
    with pytest.raises(PluginLoadError, match="filter 'slug' registered by both alpha and beta"):
        Templar(
            functions=[
                TemplateFunction("slug", str, "filter", plugin="alpha"),
                TemplateFunction("slug", str, "filter", plugin="beta"),
            ]
        )


def test_a_filter_and_a_test_may_share_a_name() -> None:
    templar = Templar(
        functions=[
            TemplateFunction("odd_one", lambda v: v * 2, "filter", plugin="p"),
            TemplateFunction("odd_one", lambda v: v % 2 == 1, "test", plugin="p"),
        ]
    )
    assert templar.render_string("{{ 3 | odd_one }} {{ 3 is odd_one }}", {}) == "6 True"


def test_plugin_lookups_may_ask_for_the_scope(tmp_path: Path) -> None:
    (tmp_path / "motd").write_text("hello\n")
    seen: list[LookupScope] = []

    def first_line(scope: LookupScope, *terms: str, **options: object) -> list[str]:
        seen.append(scope)
        return [scope.find_file(t).read_text().splitlines()[0] for t in terms]

    def who(scope: LookupScope) -> str:
        return f"{scope.variable('user')} on {scope.environ['HOST']}"

    templar = Templar(
        functions=[
            TemplateFunction("first_line", first_line, "lookup", plugin="p", pass_scope=True),
            TemplateFunction("who", who, "lookup", plugin="p", pass_scope=True),
        ],
        search_paths=[tmp_path],
        environ={"HOST": "ctl"},
    )
    assert templar.render_string("{{ lookup('first_line', 'motd') }}", {}) == "hello"
    assert seen[0].search_paths == (tmp_path,)
    assert templar.render_string("{{ lookup('who') }}", {"user": "{{ 'ann' }}"}) == "ann on ctl"
    with pytest.raises(TemplateError, match=r"lookup\('first_line'\) failed: could not find"):
        templar.render_string("{{ lookup('first_line', 'nope') }}", {})

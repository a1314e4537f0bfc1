"""Rendering: native types, lazy variables, secrets, data walking, caching, threads."""

from __future__ import annotations

import threading
from typing import Any

import jinja2
import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.playbook.templating.templar import OMIT, Templar, Verbatim
from corral.secrets import Secret


@pytest.fixture(scope="module")
def templar() -> Templar:
    return jinja_templar()  # with Ansible's filters and tests, as every run has them


VARS: dict[str, Any] = {
    "port": 8080,
    "ratio": 0.5,
    "enabled": True,
    "nothing": None,
    "ports": [80, 443],
    "app": {"name": "web", "replicas": 3},
    "name": "corral",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ port }}", 8080),
        ("{{ ratio }}", 0.5),
        ("{{ enabled }}", True),
        ("{{ ports }}", [80, 443]),
        ("{{ app }}", {"name": "web", "replicas": 3}),
        ("{{ [1, 2] }}", [1, 2]),
        ("{{ {'a': 1} }}", {"a": 1}),
        ("{{ 1 + 2 }}", 3),
        ("{{ port + 1 }}", 8081),
        ("{{ '007' }}", "007"),  # Ansible 2.19: no literal_eval of strings
        ("{{ '[1, 2]' }}", "[1, 2]"),
        ("{{ nothing }}", None),
        ("{{ port }}\n", 8080),  # Jinja drops the one trailing newline
        ("{% if enabled %}{{ ports }}{% endif %}", [80, 443]),
        ("{{ ports | map('string') }}", ["80", "443"]),  # no generator leaks out
        ("{{ ports | select('gt', 100) }}", [443]),
        ("{{ ports | zip(['http', 'https']) }}", [[80, "http"], [443, "https"]]),
        ("{{ app.keys() }}", ["name", "replicas"]),
        ("{{ range(3) }}", [0, 1, 2]),
    ],
)
def test_a_single_expression_keeps_its_type(templar: Templar, text: str, expected: Any) -> None:
    assert templar.render_string(text, VARS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("port={{ port }}", "port=8080"),
        (" {{ port }}", " 8080"),
        ("{{ port }}{{ port }}", "80808080"),
        ("{{ ports }} open", "[80, 443] open"),
        ("x{{ nothing }}y", "xy"),  # None writes nothing, as in Ansible
        ("{{ name }}\n\n", "corral\n\n"),  # trailing newlines of the source are kept
        ("{% for p in ports %}{{ p }},{% endfor %}", "80,443,"),
    ],
)
def test_text_around_an_expression_makes_a_string(
    templar: Templar, text: str, expected: str
) -> None:
    assert templar.render_string(text, VARS) == expected


def test_native_false_always_gives_text(templar: Templar) -> None:
    assert templar.render_string("{{ port }}", VARS, native=False) == "8080"
    assert templar.render_string("{{ nothing }}", VARS, native=False) == ""


def test_strings_without_template_markers_are_returned_as_is(templar: Templar) -> None:
    text = "echo '{ not a template }' }}"
    assert templar.render_string(text, VARS) is text


def test_comments_are_removed(templar: Templar) -> None:
    assert templar.render_string("a{# note #}b", VARS) == "ab"


def test_trim_blocks_drops_the_newline_after_a_block_tag(templar: Templar) -> None:
    text = "{% for p in ports %}\n{{ p }}\n{% endfor %}\n"
    assert templar.render_string(text, VARS) == "80\n443\n"


def test_multiline_yaml_block_renders_to_text(templar: Templar) -> None:
    text = "server {\n  listen {{ port }};\n}\n"
    assert templar.render_string(text, VARS) == "server {\n  listen 8080;\n}\n"


# --- lazy variables ------------------------------------------------------------------


def test_variables_holding_templates_are_rendered_when_used(templar: Templar) -> None:
    variables = {"b": "B", "a": "{{ b }} x", "url": "http://{{ host }}:{{ port }}/", "host": "h"}
    variables["port"] = "{{ 8000 + 80 }}"
    assert templar.render_string("{{ a }}", variables) == "B x"
    assert templar.render_string("{{ url }}", variables) == "http://h:8080/"
    assert templar.render_string("{{ port }}", variables) == 8080  # native through the chain


def test_templates_nested_in_container_variables_are_rendered(templar: Templar) -> None:
    variables = {
        "base": 8000,
        "service": {"ports": ["{{ base + 1 }}", 22], "name": "{{ 'svc' | upper }}"},
    }
    assert templar.render_string("{{ service.ports[0] }}", variables) == 8001
    assert templar.render_string("{{ service.name }}-{{ service.ports[1] }}", variables) == "SVC-22"


def test_a_variable_cycle_is_an_error_naming_the_variables(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ a }}", {"a": "{{ b }}", "b": "{{ a }}"})
    assert "recursive loop" in caught.value.message
    assert "a -> b -> a" in caught.value.message


def test_a_variable_referring_to_itself_is_a_cycle(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="x -> x"):
        templar.render_string("{{ x }}", {"x": "{{ x + 1 }}"})


def test_the_same_variable_used_twice_is_not_a_cycle(templar: Templar) -> None:
    variables = {"a": "{{ b }}{{ b }}", "b": "{{ c }}", "c": "z"}
    assert templar.render_string("{{ a }}-{{ b }}", variables) == "zz-z"


def test_verbatim_values_are_never_rendered(templar: Templar) -> None:
    # Output registered from a host may contain Jinja syntax; it must stay text.
    result = Verbatim({"stdout": "{{ lookup('env', 'HOME') }}", "rc": 0})
    variables = {"result": result, "line": Verbatim("{{ evil }}")}
    assert templar.render_string("{{ result.stdout }}", variables) == "{{ lookup('env', 'HOME') }}"
    assert templar.render_string("{{ line }}", variables) == "{{ evil }}"
    assert templar.render_string("{{ result.rc == 0 }}", variables) is True


def test_variables_are_not_copied_or_modified(templar: Templar) -> None:
    variables = {"a": "{{ b }}", "b": 1, "items": [1, 2]}
    before = {"a": "{{ b }}", "b": 1, "items": [1, 2]}
    templar.render_string("{{ a }} {{ items | length }}", variables)
    assert variables == before


def test_a_mapping_that_is_not_a_dict_can_hold_the_variables(templar: Templar) -> None:
    from collections import ChainMap

    variables: ChainMap[str, Any] = ChainMap({"x": 1}, {"x": 2, "y": "{{ x }}"})
    assert templar.render_string("{{ x }}-{{ y }}", variables) == "1-1"


# --- secrets ----------------------------------------------------------------------------


def test_secrets_render_as_their_real_value(templar: Templar) -> None:
    variables = {"pw": Secret("s3cr3t pass"), "db": {"password": Secret("inner")}}
    assert templar.render_string("{{ pw }}", variables) == "s3cr3t pass"
    assert templar.render_string("-p{{ pw }}", variables) == "-ps3cr3t pass"
    assert templar.render_string("{{ pw | quote }}", variables) == "'s3cr3t pass'"
    assert templar.render_string("{{ pw | upper }}", variables) == "S3CR3T PASS"
    assert templar.render_string("{{ db.password }}", variables) == "inner"
    assert templar.render_string("{{ db['password'] }}", variables) == "inner"
    assert templar.render_string("{{ pw | length }}", variables) == 11


def test_a_secret_used_by_a_templated_variable_is_revealed(templar: Templar) -> None:
    variables = {"pw": Secret("hunter2"), "dsn": "postgres://app:{{ pw }}@db/app"}
    assert templar.render_string("{{ dsn }}", variables) == "postgres://app:hunter2@db/app"


def test_render_leaves_secret_values_in_data_wrapped(templar: Templar) -> None:
    secret = Secret("x")
    assert templar.render({"password": secret}, {}) == {"password": secret}


# --- render(): walking data ---------------------------------------------------------------


def test_render_walks_dicts_lists_and_tuples(templar: Templar) -> None:
    data = {
        "cmd": "echo {{ name }}",
        "port": "{{ port }}",
        "ports": ["{{ ports[0] }}", 9, ("{{ enabled }}", "x")],
        "count": 3,
        "flag": False,
        "{{ name }}_key": "v",
    }
    assert templar.render(data, VARS) == {
        "cmd": "echo corral",
        "port": 8080,
        "ports": [80, 9, (True, "x")],
        "count": 3,
        "flag": False,
        "corral_key": "v",
    }


def test_render_returns_new_containers(templar: Templar) -> None:
    data = {"a": ["x"]}
    rendered = templar.render(data, VARS)
    assert rendered == data
    assert rendered is not data
    assert rendered["a"] is not data["a"]


def test_omit_drops_arguments_and_items(templar: Templar) -> None:
    data = {"mode": "{{ mode | default(omit) }}", "path": "/x", "opts": ["-a", "{{ omit }}"]}
    assert templar.render(data, {}) == {"path": "/x", "opts": ["-a"]}
    assert templar.render(data, {"mode": "0644"})["mode"] == "0644"
    assert templar.render_string("{{ omit }}", {}) is OMIT


def test_render_passes_non_strings_through(templar: Templar) -> None:
    marker = object()
    assert templar.render(marker, {}) is marker
    assert templar.render(12, {}) == 12


# --- is_template, variables_used, with_search_paths ------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ x }}", True),
        ("a {% if x %}b{% endif %}", True),
        ("{# c #}", True),
        ("plain { text }", False),
        ({"k": ["a", "{{ b }}"]}, True),
        ({"{{ k }}": 1}, True),
        (("a", "b"), False),
        (42, False),
    ],
)
def test_is_template(templar: Templar, value: Any, expected: bool) -> None:
    assert templar.is_template(value) is expected


def test_variables_used_lists_free_names_only(templar: Templar) -> None:
    text = "{{ a }} {% for i in items %}{{ i.x }}{% endfor %}{% set s = 1 %}{{ s }}"
    text += " {{ lookup('env', 'HOME') }} {{ range(3) | list }} {{ b | default(c) }}"
    assert templar.variables_used(text) == {"a", "items", "b", "c"}
    assert templar.variables_used("no template") == set()
    assert templar.variables_used("x.rc == 0 and y is defined", expression=True) == {"x", "y"}


def test_variables_used_reports_syntax_errors(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="syntax"):
        templar.variables_used("{{ a ")


# --- cache, threads, speed -------------------------------------------------------------------


def test_many_threads_share_one_templar() -> None:
    templar = Templar()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(300):
                variables = {"w": worker, "i": i, "a": "{{ w * 1000 + i }}"}
                assert templar.render_string("{{ a }}", variables) == worker * 1000 + i
                text = f"{{{{ i }}}}-{worker}-{i % 50}"  # distinct templates, shared cache
                assert templar.render_string(text, variables) == f"{i}-{worker}-{i % 50}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_rendering_a_cached_template_does_not_compile_it_again(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The time per call is measured by bench/bench_playbook.py; this checks the cause of
    # a slow-down, recompiling, without a clock.
    variables = {f"var{i}": f"value {i}" for i in range(48)} | {"x": 1, "y": "abc"}
    text = "{{ x }}-{{ y | upper }}"
    assert templar.render_string(text, variables) == "1-ABC"
    compiled: list[Any] = []
    compile = jinja2.Environment.compile

    def counting(env: jinja2.Environment, source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(source)
        return compile(env, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    for _ in range(2000):
        assert templar.render_string(text, variables) == "1-ABC"
    assert compiled == []
    assert templar.render_string("{{ y }}+{{ x }}", variables) == "abc+1"
    assert len(compiled) == 1, "a new text is compiled (once): the count above can see it"


def test_with_search_paths_shares_everything_but_the_paths(tmp_path: Any) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "f.txt").write_text("first\n")
    (tmp_path / "two" / "f.txt").write_text("second\n")
    base = jinja_templar(search_paths=[tmp_path / "one"])
    other = base.with_search_paths([tmp_path / "two"])
    text = "{{ lookup('file', 'f.txt') }}"
    assert base.render_string(text, {}) == "first"
    assert other.render_string(text, {}) == "second"

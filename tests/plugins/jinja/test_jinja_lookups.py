"""Lookups: env, file, template and friends, query/q, wantlist, errors=, plugin lookups."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.playbook.templating.function_type import TemplateFunction
from corral.playbook.templating.templar import Templar
from corral.secrets import Secret


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "files" / "motd").write_text("Welcome\n\n")
    (tmp_path / "files" / "key.pub").write_text("ssh-ed25519 AAAA\n")
    (tmp_path / "only_here.txt").write_text("top\n")
    (tmp_path / "templates" / "app.conf.j2").write_text(
        "# {{ name }}\nport={{ port }}\n{% for h in hosts %}\nserver {{ h }}\n{% endfor %}\n"
    )
    (tmp_path / "templates" / "escape.j2").write_text(
        "{{ 'a\\tb' }}|{{ x | regex_replace('(\\\\d)', '<\\\\1>') }}\n"
    )
    return tmp_path


@pytest.fixture
def templar(project: Path) -> Templar:
    return jinja_templar(
        search_paths=[project / "files", project / "templates", project],
        environ={"HOME": "/home/ops", "EMPTY": ""},
    )


def test_env_lookup_reads_the_given_environment(templar: Templar) -> None:
    assert templar.render_string("{{ lookup('env', 'HOME') }}", {}) == "/home/ops"
    assert templar.render_string("{{ lookup('env', 'UNSET_VAR') }}", {}) == ""
    assert templar.render_string("{{ lookup('env', 'UNSET_VAR', default='d') }}", {}) == "d"
    # several values join with commas, as in Ansible
    assert templar.render_string("{{ lookup('env', 'HOME', 'EMPTY') }}", {}) == "/home/ops,"
    assert templar.render_string("{{ query('env', 'HOME', 'EMPTY') }}", {}) == ["/home/ops", ""]


def test_env_lookup_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_TEMPLATING_TEST", "from-os")
    text = "{{ lookup('env', 'CORRAL_TEMPLATING_TEST') }}"
    assert jinja_templar().render_string(text, {}) == "from-os"


def test_file_lookup_searches_paths_and_strips_trailing_whitespace(
    templar: Templar, project: Path
) -> None:
    assert templar.render_string("{{ lookup('file', 'motd') }}", {}) == "Welcome"
    assert templar.render_string("{{ lookup('file', 'only_here.txt') }}", {}) == "top"
    absolute = str(project / "files" / "key.pub")
    assert (
        templar.render_string("{{ lookup('file', path) }}", {"path": absolute})
        == "ssh-ed25519 AAAA"
    )
    text = "{{ lookup('file', 'motd', rstrip=false) }}"
    assert templar.render_string(text, {}) == "Welcome\n\n"


def test_file_lookup_of_several_files(templar: Templar) -> None:
    assert (
        templar.render_string("{{ lookup('file', 'motd', 'only_here.txt') }}", {}) == "Welcome,top"
    )
    assert templar.render_string("{{ q('file', 'motd', 'only_here.txt') }}", {}) == [
        "Welcome",
        "top",
    ]
    text = "{{ lookup('file', 'motd', 'only_here.txt', wantlist=True) }}"
    assert templar.render_string(text, {}) == ["Welcome", "top"]


def test_missing_file_is_an_error_listing_the_search_paths(templar: Templar, project: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ lookup('file', 'nope.txt') }}", {}, what="task 'copy'")
    message = caught.value.message
    assert message.startswith("lookup('file') failed in task 'copy'")
    assert "could not find 'nope.txt'" in message
    assert str(project / "files") in message


def test_errors_ignore_and_warn_give_an_empty_result(
    templar: Templar, caplog: pytest.LogCaptureFixture
) -> None:
    assert templar.render_string("{{ lookup('file', 'nope', errors='ignore') }}", {}) is None
    assert templar.render_string("{{ query('file', 'nope', errors='ignore') }}", {}) == []
    with caplog.at_level(logging.WARNING, logger="corral.templating"):
        assert templar.render_string("{{ lookup('file', 'nope', errors='warn') }}", {}) is None
    assert "could not find 'nope'" in caplog.text


def test_template_lookup_renders_with_the_current_variables(templar: Templar) -> None:
    variables = {"name": "web", "port": "{{ base + 1 }}", "base": 8000, "hosts": ["a", "b"]}
    rendered = templar.render_string("{{ lookup('template', 'app.conf.j2') }}", variables)
    assert rendered == "# web\nport=8001\nserver a\nserver b\n"


def test_template_lookup_accepts_template_vars(templar: Templar) -> None:
    text = "{{ lookup('template', 'app.conf.j2', template_vars={'hosts': ['z']}) }}"
    rendered = templar.render_string(text, {"name": "n", "port": 1, "hosts": ["a"]})
    assert rendered == "# n\nport=1\nserver z\n"


def test_template_files_process_backslash_escapes(templar: Templar) -> None:
    # Unlike YAML strings, a template file's "\t" is a tab and "\\1" a backreference.
    rendered = templar.render_string("{{ lookup('template', 'escape.j2') }}", {"x": "a1"})
    assert rendered == "a\tb|a<1>\n"


def test_render_file_renders_a_template_file(templar: Templar, project: Path) -> None:
    variables = {"name": "web", "port": 80, "hosts": []}
    assert templar.render_file(Path("app.conf.j2"), variables) == "# web\nport=80\n"
    absolute = project / "templates" / "app.conf.j2"
    assert templar.render_file(absolute, variables) == "# web\nport=80\n"


def test_render_file_errors_name_the_template(templar: Templar, project: Path) -> None:
    (project / "templates" / "bad.j2").write_text("{{ nme }}\n")
    with pytest.raises(TemplateError) as caught:
        templar.render_file(Path("bad.j2"), {"name": 1})
    assert caught.value.message == "undefined variable 'nme' in template 'bad.j2'"
    assert caught.value.hint == "did you mean 'name'?"
    with pytest.raises(TemplateError, match=r"could not find 'gone\.j2'"):
        templar.render_file(Path("gone.j2"), {})


def test_lookups_inside_loops_see_loop_variables(templar: Templar) -> None:
    text = "{% for f in files %}[{{ lookup('file', f) }}]{% endfor %}"
    assert templar.render_string(text, {"files": ["motd", "only_here.txt"]}) == "[Welcome][top]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ lookup('vars', 'port') }}", 8001),  # rendered like any variable use
        ("{{ lookup('vars', 'nope', default='d') }}", "d"),
        ("{{ lookup('items', [1, [2, 3]]) }}", [1, [2, 3]]),
        ("{{ query('items', [1, [2]], 3) }}", [1, [2], 3]),
        ("{{ lookup('list', 1, 2) }}", [1, 2]),
        ("{{ query('list', 'a') }}", ["a"]),
        ("{{ lookup('dict', {'a': 1}) }}", {"key": "a", "value": 1}),
        (
            "{{ query('dict', {'a': 1, 'b': 2}) }}",
            [{"key": "a", "value": 1}, {"key": "b", "value": 2}],
        ),
        ("{{ query('indexed_items', ['a', 'b']) }}", [[0, "a"], [1, "b"]]),
        ("{{ lookup('list', wantlist=True) }}", []),
        ("{{ lookup('list') }}", None),
    ],
)
def test_data_lookups(templar: Templar, text: str, expected: object) -> None:
    assert templar.render_string(text, {"port": "{{ 8000 + 1 }}"}) == expected


def test_fileglob_and_first_found(templar: Templar, project: Path) -> None:
    # a relative pattern is matched in the first search path where it matches anything
    found = templar.render_string("{{ query('fileglob', '*.txt', '*.pub') }}", {})
    assert found == [str(project / "only_here.txt"), str(project / "files" / "key.pub")]
    assert templar.render_string("{{ query('fileglob', '*.none') }}", {}) == []
    first = "{{ lookup('first_found', ['nope.yml', 'motd', 'key.pub']) }}"
    assert templar.render_string(first, {}) == str(project / "files" / "motd")
    skipped = "{{ lookup('first_found', files=['a', 'b'], skip=True) }}"
    assert templar.render_string(skipped, {}) is None
    with pytest.raises(
        TemplateError, match="No file was found when using first_found \\(tried 'a', 'b'\\)"
    ):
        templar.render_string("{{ lookup('first_found', 'a', 'b') }}", {})


def test_unknown_lookup_suggests_a_close_name(templar: Templar) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string("{{ lookup('fiel', 'motd', errors='ignore') }}", {})
    assert caught.value.message == "unknown lookup 'fiel'"
    assert caught.value.hint == "did you mean 'file'?"


def test_unknown_lookup_option_is_an_error(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="lookup 'env' takes no options, got colour"):
        templar.render_string("{{ lookup('env', 'HOME', colour='red') }}", {})


def test_plugin_lookups_get_terms_and_options() -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def vault(*terms: object, **options: object) -> list[str]:
        calls.append((terms, options))
        return [f"secret-of-{t}" for t in terms]

    def failing(*terms: object) -> str:
        raise RuntimeError("backend down")

    templar = Templar(
        functions=[
            TemplateFunction("vault", vault, "lookup", plugin="vaultplug"),
            TemplateFunction("flaky", failing, "lookup", plugin="flakyplug"),
        ]
    )
    text = "{{ lookup('vault', 'db', mount='kv') }}"
    assert templar.render_string(text, {}) == "secret-of-db"
    assert calls == [(("db",), {"mount": "kv"})]
    assert templar.render_string("{{ q('vault', 'a', 'b') }}", {}) == ["secret-of-a", "secret-of-b"]
    with pytest.raises(
        TemplateError, match=r"lookup\('flaky'\) failed: RuntimeError: backend down"
    ):
        templar.render_string("{{ lookup('flaky', 'x') }}", {})
    assert templar.render_string("{{ lookup('flaky', 'x', errors='ignore') }}", {}) is None


def test_lookup_terms_from_secrets_are_revealed(templar: Templar) -> None:
    assert templar.render_string("{{ lookup('env', var) }}", {"var": Secret("HOME")}) == "/home/ops"

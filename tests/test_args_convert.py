"""Arguments are converted to the types the step declares, as Ansible converts module arguments.

``-e`` values are strings; ``wait_for: {port: "{{ port }}"}`` must still get an integer.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from corral import StepResult, StepType, hookimpl
from corral.playbook.convert import ConversionError, convert_value, converter_for

HOSTS = "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"

ECHO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "names": {"type": "array", "items": {"type": "string"}},
        "ports": {"type": "array", "items": {"type": "integer"}},
        "flag": {"type": "boolean"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "ratio": {"type": "number"},
        "text": {"type": "string"},
        "nested": {
            "type": "object",
            "properties": {"count": {"type": "integer"}, "enabled": {"type": "boolean"}},
        },
        "size": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]},
        "mode": {"anyOf": [{"enum": ["fast", "slow"]}, {"type": "boolean"}]},
    },
}


def _echo(ctx: Any, args: Mapping[str, Any]) -> StepResult:
    return StepResult(data={"got": dict(args)})


class EchoPlugin:
    @hookimpl
    def corral_register_steps(self, register: Any) -> None:
        register(StepType(name="echo_args", run=_echo, schema=ECHO_SCHEMA, check_mode=True))


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    corral_project.plugins.append(EchoPlugin())
    return corral_project


def run(project: Any, playbook: str, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, result.json_lines()


def results(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["result"] for e in events if e["event"] == "task_result"]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# -- the regressions of issue 15 ----------------------------------------------------------


def test_wait_for_port_from_extra_vars(project, listening_port):
    result, events = run(
        project,
        """
        - hosts: localhost
          tasks:
            - wait_for: {port: "{{ port }}", timeout: "{{ limit }}"}
        """,
        "-e",
        f"port={listening_port}",
        "-e",
        "limit=5",
    )
    assert result.exit_code == 0, result.output
    assert results(events)[0]["port"] == listening_port


def test_http_timeout_from_extra_vars(project):
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.expect_request("/ping").respond_with_data("pong")
        result, events = run(
            project,
            """
            - hosts: localhost
              tasks:
                - http: {url: "{{ url }}", timeout: "{{ timeout }}", return_content: "{{ rc }}"}
            """,
            "-e",
            f"url={server.url_for('/ping')}",
            "-e",
            "timeout=7",
            "-e",
            "rc=yes",
        )
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert results(events)[0]["content"] == "pong"


def test_pause_seconds_from_extra_vars(project):
    result, _ = run(
        project,
        """
        - hosts: localhost
          tasks:
            - pause: {seconds: "{{ s }}"}
            - pause: seconds={{ s }}
        """,
        "-e",
        "s=0",
    )
    assert result.exit_code == 0, result.output
    result.assert_recap("localhost", ok=2, failed=0)


def test_bool_from_yes_and_no(project, tmp_path):
    (tmp_path / "f").write_text("x")
    result, events = run(
        project,
        f"""
        - hosts: localhost
          tasks:
            - stat: path={tmp_path / "f"} get_checksum={{{{ want }}}}
            - stat: {{path: "{tmp_path / "f"}", get_checksum: "YES"}}
        """,
        "-e",
        "want=no",
    )
    assert result.exit_code == 0, result.output
    first, second = results(events)
    assert "checksum" not in first["stat"]
    assert "checksum" in second["stat"]


def test_list_from_comma_separated_string(project):
    result, events = run(
        project,
        """
        - hosts: localhost
          tasks:
            - echo_args: {names: "a,b", ports: "{{ ports }}"}
            - echo_args: names=solo
        """,
        "-e",
        "ports=80,443",
    )
    assert result.exit_code == 0, result.output
    first, second = results(events)
    assert first["got"] == {"names": ["a", "b"], "ports": [80, 443]}
    assert second["got"] == {"names": ["solo"]}


def test_dict_number_string_and_nested(project):
    result, events = run(
        project,
        """
        - hosts: localhost
          vars:
            n: "3"
          tasks:
            - echo_args:
                labels: "tier=web env='blue green'"
                ratio: "0.5"
                text: 42
                nested: {count: "{{ n }}", enabled: "off"}
                size: "{{ n }}"
                mode: "true"
            - echo_args: {labels: '{"a": "b"}', mode: fast, size: "x,y"}
        """,
    )
    assert result.exit_code == 0, result.output
    first, second = results(events)
    assert first["got"] == {
        "labels": {"tier": "web", "env": "blue green"},
        "ratio": 0.5,
        "text": "42",
        "nested": {"count": 3, "enabled": False},
        "size": 3,
        "mode": True,
    }
    assert second["got"] == {"labels": {"a": "b"}, "mode": "fast", "size": ["x", "y"]}


# -- values that cannot be converted ---------------------------------------------------------


def test_unconvertible_literal_is_an_error_before_the_run(project):
    project.write(
        "site.yml",
        """
        - hosts: localhost
          tasks:
            - debug: {msg: before}
            - wait_for:
                port: eighty
        """,
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "site.yml:5:" in result.output
    assert "argument 'port' of step 'wait_for': cannot convert 'eighty' to an integer" in (
        result.output
    )
    assert "hint: give a whole number" in result.output


def test_unconvertible_rendered_value_fails_the_task_naming_it(project):
    result, events = run(
        project,
        """
        - hosts: localhost
          tasks:
            - pause: {seconds: "{{ s }}"}
        """,
        "-e",
        "s=soon",
    )
    assert result.exit_code != 0
    message = results(events)[0]["msg"]
    assert "site.yml:3:" in message
    assert "argument 'seconds' of step 'pause': cannot convert 'soon' to a number" in message


def test_bad_boolean_names_the_accepted_words(project):
    project.write("site.yml", "- hosts: localhost\n  tasks:\n    - echo_args: {flag: maybe}\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "argument 'flag' of step 'echo_args': cannot convert 'maybe' to a boolean" in (
        result.output
    )
    assert "yes/no, true/false, on/off or 1/0" in result.output


# -- the converter on its own ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        ({"type": "integer"}, "18081", 18081),
        ({"type": "integer"}, " 7 ", 7),
        ({"type": "integer"}, "5.0", 5),
        ({"type": "integer"}, 5.0, 5.0),  # already an integer to JSON Schema
        ({"type": "number"}, "2.5", 2.5),
        ({"type": "number"}, "3", 3),
        ({"type": "boolean"}, "Yes", True),
        ({"type": "boolean"}, "ON", True),
        ({"type": "boolean"}, "t", True),
        ({"type": "boolean"}, "1", True),
        ({"type": "boolean"}, "off", False),
        ({"type": "boolean"}, "N", False),
        ({"type": "boolean"}, 0, False),
        ({"type": "string"}, 8080, "8080"),
        ({"type": "string"}, 1.5, "1.5"),
        ({"type": "string"}, None, ""),
        ({"type": "array"}, "a,b", ["a", "b"]),
        ({"type": "array"}, "a, b", ["a", " b"]),  # as Ansible: no stripping
        ({"type": "array"}, 5, ["5"]),
        ({"type": "object"}, "a=1 b=2", {"a": "1", "b": "2"}),
        ({"type": "object"}, "a=1, b=2", {"a": "1", "b": "2"}),
        ({"type": "object"}, '{"a": 1}', {"a": 1}),
        ({"type": "object"}, "{'a': 1}", {"a": 1}),
        ({"type": ["integer", "string"]}, "5", "5"),  # a string is allowed: kept
        ({"type": ["integer", "boolean"]}, "1", 1),
        ({"enum": [1, 2, 3]}, "2", 2),
        ({"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^x"}]}, "7", "7"),
        ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "yes", True),
        ({"anyOf": [{"type": "integer"}, {"type": "array"}]}, "1", 1),  # a split is weaker
        ({"anyOf": [{"type": "integer"}, {"type": "number"}]}, "1", 1),
        ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "1", "1"),  # ambiguous: kept
        ({"type": "array", "items": {"type": "integer"}}, ["1", 2], [1, 2]),
        ({"type": "array", "items": {"type": "integer"}}, "1,2", [1, 2]),
        # Items that may be mappings are not made by cutting a string at its commas.
        (
            {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
            ["select 1"],
            ["select 1"],
        ),
        (  # left for the schema check to refuse
            {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
            "insert into t values (1, 2)",
            "insert into t values (1, 2)",
        ),
    ],
)
def test_convert_value(schema: dict[str, Any], value: Any, expected: Any) -> None:
    converted = convert_value(converter_for(schema), value)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "integer"}, "1.5"),
        ({"type": "integer"}, "nan"),
        ({"type": "integer"}, "inf"),
        ({"type": "integer"}, True),
        ({"type": "boolean"}, "2"),
        ({"type": "object"}, "no pairs"),
        ({"type": "object"}, "{broken"),
        ({"type": "object"}, "a=1 b"),
        ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "maybe"),
    ],
)
def test_convert_value_refuses(schema: dict[str, Any], value: Any) -> None:
    with pytest.raises(ConversionError):
        convert_value(converter_for(schema), value)


def test_templates_wait_until_rendered() -> None:
    node = converter_for(ECHO_SCHEMA)
    args = {"ports": "{{ p }}", "flag": "{% if x %}yes{% endif %}", "ratio": "1"}
    assert convert_value(node, args, skip_templates=True) == {**args, "ratio": 1}


def test_converter_is_compiled_once_per_schema() -> None:
    assert converter_for(ECHO_SCHEMA) is converter_for(ECHO_SCHEMA)
    assert converter_for({"properties": {"x": {"description": "any value"}}}) is None


def test_untouched_arguments_are_not_copied() -> None:
    node = converter_for(ECHO_SCHEMA)
    nested = {"count": 1}
    args = {"names": ["a"], "nested": nested}
    assert convert_value(node, args) is args
    assert json.dumps(args)


def test_values_of_no_json_type_are_left_to_the_schema_check() -> None:
    from corral.secrets import Secret

    secret = Secret("hunter2")
    node = converter_for(ECHO_SCHEMA)
    assert convert_value(node, {"text": secret})["text"] is secret

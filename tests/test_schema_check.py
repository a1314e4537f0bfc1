"""The quick schema pass says "valid" only where jsonschema agrees, and says it often.

``surely_valid`` lets a command skip importing jsonschema (about 30 ms of every start)
when task arguments and keywords are plainly valid. A wrong True would let bad input
through, so every registered step schema and the keyword schemas are checked against
jsonschema with many generated instances, valid and not.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from corral.playbook import keywords as kw
from corral.playbook.schema_check import surely_valid
from corral.plugins import build_registry, make_plugin_manager

SAMPLES: list[Any] = [
    None, True, False, 0, 1, -1, 3, 1.0, 1.5, -0.5, Decimal("2"), "", "x", "yes", "present",
    "absent", "0644", "/etc/hosts", "a=b", [], ["a"], [1], [None], ("a",), {}, {"a": 1},
    {"name": "x"},
]  # fmt: skip


def _schemas() -> Iterator[tuple[str, Mapping[str, Any]]]:
    registry = build_registry(make_plugin_manager())
    seen: set[int] = set()
    for name, step in sorted(registry.steps.items()):
        if id(step.schema) not in seen:
            seen.add(id(step.schema))
            yield name, step.schema
    for what, schema in (("play", kw.PLAY), ("task", kw.TASK), ("block", kw.BLOCK)):
        yield what, kw.object_schema(dict(schema))


def _value(rng: random.Random, schema: Any) -> Any:
    """A value for a property: often one the schema names (enum, default), else a sample."""
    choices = list(SAMPLES)
    if isinstance(schema, Mapping):
        choices += list(schema.get("enum", ())) * 3
        if "default" in schema:
            choices += [schema["default"]] * 3
        if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
            choices += [[_value(rng, schema["items"])]] * 2
    return rng.choice(choices)


def _instances(schema: Mapping[str, Any], count: int, seed: str) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    properties = dict(schema.get("properties", {}))
    names = [*sorted(properties), "not_an_argument"]
    for _ in range(count):
        keys = rng.sample(names, k=min(len(names), rng.randint(0, 4)))
        yield {key: _value(rng, properties.get(key)) for key in keys}


@pytest.mark.parametrize(("name", "schema"), list(_schemas()), ids=lambda v: str(v)[:30])
def test_a_quick_yes_is_always_a_jsonschema_yes(name: str, schema: Mapping[str, Any]) -> None:
    validator = Draft202012Validator(schema)
    for instance in _instances(schema, 300, name):
        if surely_valid(schema, instance):
            errors = [e.message for e in validator.iter_errors(instance)]
            assert errors == [], f"{name}: {instance!r} passed the quick check"


@pytest.mark.parametrize(
    ("step", "args"),
    [
        ("debug", {"msg": "hi"}),
        ("shell", {"cmd": "echo hi"}),
        ("command", {"argv": ["ls", "-l"], "chdir": "/tmp"}),
        ("copy", {"dest": "/etc/motd", "content": "hi", "mode": "0644"}),
        ("file", {"path": "/srv/app", "state": "directory"}),
        ("lineinfile", {"path": "/etc/hosts", "line": "10.0.0.1 db", "regexp": "db$"}),
        ("set_fact", {"n": 1}),
        ("apt", {"name": ["curl", "git"], "state": "present", "update_cache": True}),
        ("service", {"name": "ssh", "state": "started", "enabled": True}),
        ("user", {"name": "alice", "groups": ["admins"], "append": True}),
    ],
)
def test_plain_arguments_of_common_steps_pass_without_jsonschema(
    step: str, args: dict[str, Any]
) -> None:
    schema = build_registry(make_plugin_manager()).steps[step].schema
    assert not list(Draft202012Validator(schema).iter_errors(args))
    assert surely_valid(schema, args)


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "integer"}, True),  # bool is not a number in JSON Schema
        ({"type": "number"}, False),
        ({"type": "array"}, ("a",)),  # jsonschema's arrays are lists
        ({"enum": [1]}, True),
        ({"minimum": 3}, Decimal("2")),  # left to jsonschema, which refuses it
        ({"type": "string", "format": "x", "unknown": 1}, "s"),  # a keyword it does not know
        ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}),
        ({"oneOf": [{"type": "string"}, {"type": "string"}]}, "s"),
        ({"not": {"type": "string"}}, "s"),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"b": 1}),
        ({"pattern": "^a"}, "ba"),
    ],
)
def test_edge_cases_are_never_a_quick_yes(schema: Mapping[str, Any], instance: Any) -> None:
    assert not surely_valid(schema, instance)


def test_what_jsonschema_accepts_in_the_same_cases_is_a_quick_yes() -> None:
    assert surely_valid({"type": "integer"}, 1.0)  # an integral float is an integer
    assert surely_valid({"enum": ["a", "b"]}, "b")
    assert surely_valid({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"c": 1})
    assert surely_valid({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 3)
    assert surely_valid({"items": {"type": "string"}, "minItems": 1}, ["x"])


def test_most_valid_generated_instances_are_a_quick_yes() -> None:
    valid = quick = 0
    for name, schema in _schemas():
        validator = Draft202012Validator(schema)
        for instance in _instances(schema, 100, name):
            if validator.is_valid(instance):
                valid += 1
                quick += surely_valid(schema, instance)
    assert valid > 300  # the generator makes valid instances too, or the test above is empty
    assert quick >= 0.9 * valid

"""``json_query``, community.general's JMESPath filter, on the data playbooks hand it."""

from __future__ import annotations

from typing import Any

import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError
from corral.playbook.templating.templar import Templar
from corral.playbook.yaml.read import UnsafeText
from corral.secrets import Secret

VARS: dict[str, Any] = {
    "users": [
        {"name": "ann", "admin": True, "groups": ["wheel", "ops"]},
        {"name": "bob", "admin": False, "groups": ["ops"]},
    ],
    "domain": {"server": [{"name": "server11", "port": 8080}, {"name": "server21", "port": 9080}]},
    "eda": '{"rule": "r2", "meta": {"source": "kafka"}}',
}


@pytest.fixture(scope="module")
def templar() -> Templar:
    return jinja_templar()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a filter over a list of dicts
        ("{{ users | json_query('[?admin].name') }}", ["ann"]),
        ("{{ users | json_query(\"[?name=='bob'].groups[0]\") }}", ["ops"]),
        # projections: list, flatten, multi-select hash
        ("{{ users | json_query('[*].name') }}", ["ann", "bob"]),
        ("{{ users | json_query('[].groups[]') }}", ["wheel", "ops", "ops"]),
        (
            "{{ users | json_query('[*].{who: name, n: length(groups)}') }}",
            [{"who": "ann", "n": 2}, {"who": "bob", "n": 1}],
        ),
        # community.general's documented example, under the collection's name
        (
            "{{ domain | to_json | from_json"
            " | community.general.json_query(\"server[?contains(name, 'server1')].port\") }}",
            [8080],
        ),
        # what the EDA playbooks do: parse JSON, then pick a key named by a variable
        ("{{ eda | from_json | community.general.json_query('meta.source') }}", "kafka"),
        ("{{ eda | from_json | json_query('rule') }}", "r2"),
        # nothing matches: None, as jmespath answers
        ("{{ users | json_query('nope') }}", None),
        ("{{ users | json_query('length(@)') }}", 2),
    ],
)
def test_json_query(templar: Templar, text: str, expected: Any) -> None:
    assert templar.render_string(text, VARS) == expected


def test_unsafe_text_is_a_plain_string_to_jmespath(templar: Templar) -> None:
    # jmespath types values by their exact class: a str subclass would be "no type".
    data = {"items": [{"name": UnsafeText("web1")}, {"name": UnsafeText("db1")}]}
    text = "{{ data | json_query(\"items[?starts_with(name, 'web')].name\") }}"
    assert templar.render_string(text, {"data": data}) == ["web1"]


def test_a_secret_stays_a_secret_inside_what_a_query_picks(templar: Templar) -> None:
    data = {"db": {"password": Secret("hunter2"), "port": 5432}}
    picked = templar.render_string("{{ data | json_query('db') }}", {"data": data})
    assert isinstance(picked["password"], Secret)
    assert picked["port"] == 5432
    # Picked alone, it renders as a plain reference to it would.
    alone = templar.render_string("{{ data | json_query('db.password') }}", {"data": data})
    assert alone == templar.render_string("{{ data.db.password }}", {"data": data})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{{ users | json_query('[?admin') }}",
            "json_query '[?admin': Invalid jmespath expression: Incomplete expression at column 7",
        ),
        (
            "{{ users | json_query('a | | b') }}",
            "json_query 'a | | b': invalid token: Parse error at column 4, token \"|\" (PIPE)",
        ),
        (
            "{{ users | json_query('length(@, @)') }}",
            "json_query 'length(@, @)': Expected 1 argument for function length(), received 2",
        ),
        ("{{ users | json_query('nosuch(@)') }}", "Unknown function: nosuch()"),
        ("{{ users | json_query(3) }}", "json_query: the expression must be a string, not int"),
    ],
)
def test_a_bad_expression_is_one_clear_line(templar: Templar, text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        templar.render_string(text, VARS)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint is not None
    assert "jmespath.org" in caught.value.hint

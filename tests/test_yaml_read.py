"""Inventory and variables data through the playbooks' bounded YAML reader (load_data)."""

from __future__ import annotations

import datetime

import pytest

from corral.errors import InventoryError
from corral.playbook.yaml.marked import unmark
from corral.playbook.yaml.read import UnsafeText, load_data


def load(text: str) -> tuple[object, list[str]]:
    warnings: list[str] = []
    return unmark(load_data("vars.yml", text, warnings.append)), warnings


def test_json_is_read_as_json_first() -> None:
    assert load('{"n": 1e3, "s": "x"}')[0] == {"n": 1000.0, "s": "x"}
    assert load("n: 1e3\n")[0] == {"n": "1e3"}  # YAML 1.1 reads it as a string


def test_yaml_1_1_types_as_ansible_reads_them() -> None:
    data, _ = load("a: yes\nb: 0755\nc: 2024-01-31\nd: ~\n")
    assert data == {"a": True, "b": 493, "c": datetime.date(2024, 1, 31), "d": None}


def test_a_repeated_key_warns_and_the_last_value_wins() -> None:
    data, warnings = load("a: 1\nb: 2\na: 3\n")
    assert data == {"a": 3, "b": 2}
    assert list(data) == ["a", "b"]  # type: ignore[call-overload]
    assert warnings == ["vars.yml:3:1: duplicate key 'a'; the last value is used"]


def test_unsafe_scalars_and_collections_become_unsafe_text() -> None:
    data, _ = load("s: !unsafe '{{ x }}'\nl: !unsafe ['{{ a }}', 1]\nm: !unsafe {k: '{{ b }}'}\n")
    assert isinstance(data, dict)
    assert type(data["s"]) is UnsafeText
    assert [type(v) for v in data["l"]] == [UnsafeText, int]
    assert type(data["m"]["k"]) is UnsafeText


def test_vault_values_without_a_password_are_refused_where_they_are() -> None:
    with pytest.raises(InventoryError, match=r"vault-encrypted and no vault password") as caught:
        load("a: 1\npw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n")
    assert str(caught.value.location) == "vars.yml:2:5"


def test_syntax_errors_keep_pyyaml_words_at_the_problem() -> None:
    with pytest.raises(InventoryError, match=r"^vars\.yml:2:1: invalid YAML: "):
        load("a: [1\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: " + "[" * 250 + "]" * 250 + "\n", "nested more than 200 levels"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
                for i in range(6)
            ),
            "too much alias expansion",
        ),
    ],
    ids=["depth", "alias-bomb"],
)
def test_inventory_data_has_the_playbook_bounds(text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=f"invalid YAML: .*{message}"):
        load(text)


def test_unknown_tags_are_refused() -> None:
    with pytest.raises(InventoryError, match=r"vars\.yml:1:4: invalid YAML: unknown tag !foo"):
        load("a: !foo x\n")


def test_a_second_merge_key_adds_mappings_as_in_pyyaml() -> None:
    import yaml

    text = (
        "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nd: &d {x: 3, y: 3, z: 3}\n"
        "c:\n  <<: [*a, *b]\n  <<: *d\n  w: 0\ne:\n  <<: *d\n  <<: [*a, *b]\n"
    )
    assert load(text)[0] == yaml.safe_load(text)
    assert load(text)[0]["c"] == {"x": 1, "y": 2, "z": 3, "w": 0}  # type: ignore[index]

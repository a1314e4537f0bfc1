"""Redaction of decrypted values by the event bus: strings only, whatever the secret is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral.engine.events import EventBus
from corral.secrets import remember_secret
from corral.vault import VaultText


def emitted(
    bus_secrets: Sequence[str], remembered: Sequence[str] = (), **fields: Any
) -> Mapping[str, Any]:
    got: list[Mapping[str, Any]] = []
    bus = EventBus("run1", [got.append])
    for value in bus_secrets:
        bus.add_secret(value)
    for value in remembered:
        remember_secret(value)
    bus.emit("task_result", **fields)
    return got[-1]


def test_a_secret_of_digits_leaves_numbers_alone_and_the_event_valid() -> None:
    # Before: the event's JSON text was searched, so "5432" turned `"port": 5432` into
    # `"port": ********`, which is not JSON, and the run crashed.
    event = emitted(["5432"], port=5432, msg="pin is 5432", nested={"k": ["a5432b"]})
    assert event["port"] == 5432
    assert event["msg"] == "pin is ********"
    assert event["nested"] == {"k": ["a********b"]}


def test_a_secret_that_is_a_json_word_or_a_key_keeps_the_event_whole() -> None:
    event = emitted(["true", "event"], changed=True, msg="true event")
    assert event["changed"] is True
    assert event["event"] == "task_result"
    assert event["msg"] == "******** ********"


def test_values_remembered_after_the_bus_started_are_redacted_too() -> None:
    event = emitted([], ["Remembered-Late-31x"], msg="x Remembered-Late-31x y")
    assert event["msg"] == "x ******** y"


def test_a_decrypted_vault_value_is_redacted_where_it_is_itself_the_value() -> None:
    remember_secret("Vault-Text-Value-77")
    event = emitted([], result={"v": VaultText("Vault-Text-Value-77", "$ANSIBLE_VAULT;1.1;AES256")})
    assert event["result"] == {"v": "********"}

"""Typed results: ItemResult and UnitResult build the dict ``register`` stores, Ansible's shape."""

from __future__ import annotations

import pytest

from corral.engine.results import ItemResult, UnitResult, unit_shape
from corral.steps import StepResult

CASES = [
    (ItemResult(StepResult(changed=True, rc=0, stdout="a\nb")), {
        "changed": True, "failed": False, "rc": 0, "stdout": "a\nb", "stdout_lines": ["a", "b"],
    }),
    (ItemResult(kind="skipped"), {
        "changed": False, "skipped": True, "skip_reason": "Conditional result was False",
    }),
    (ItemResult(StepResult(msg="no route"), kind="unreachable"), {
        "unreachable": True, "changed": False, "msg": "no route",
    }),
    (ItemResult(StepResult(failed=True, msg="bad"), kind="error", hint="fix it"), {
        "failed": True, "changed": False, "msg": "bad", "hint": "fix it",
    }),
    (ItemResult(StepResult(rc=1, failed=True), changed_when=True, failed_when=False), {
        "changed": True, "failed": False, "rc": 1, "failed_when_result": False,
    }),
    # As Ansible: ``until`` being met ends the retries, it does not undo a failure.
    (ItemResult(StepResult(failed=True), until_met=True, attempts=2, counted=True), {
        "changed": False, "failed": True, "attempts": 2,
    }),
    (ItemResult(StepResult(failed=True), until_met=False, attempts=3, counted=True), {
        "changed": False, "failed": True, "attempts": 3,
        "msg": "condition not met after 3 attempts",
    }),
    (ItemResult(StepResult(set_vars={"a": 1}), loop_var="item", item=7), {
        "changed": False, "failed": False, "ansible_facts": {"a": 1}, "item": 7,
        "ansible_loop_var": "item",
    }),
]  # fmt: skip


@pytest.mark.parametrize(("item", "expected"), CASES)
def test_registered_shape(item: ItemResult, expected: dict[str, object]) -> None:
    assert item.registered == expected
    assert item.registered is item.registered  # built once, then the same dict


def test_engine_metadata_stays_out_of_the_registered_dict() -> None:
    item = ItemResult(StepResult(meta_action="end_host", facts={"os": "linux"}))
    unit = UnitResult(
        status="ok", registered=unit_shape([item], looped=False, error=None), items=(item,)
    )
    assert unit.meta_action == "end_host"
    assert unit.facts == {"os": "linux"}
    assert set(unit.registered) == {"changed", "failed", "ansible_facts"}


def test_a_loop_summarises_its_items() -> None:
    items = [
        ItemResult(StepResult(changed=True, set_vars={"a": 1}), loop_var="item", item=1),
        ItemResult(StepResult(failed=True, set_vars={"b": 2}), loop_var="item", item=2),
    ]
    shape = unit_shape(items, looped=True, error=None)
    assert shape["changed"] is True
    assert shape["failed"] is True
    assert shape["msg"] == "One or more items failed"
    assert shape["results"] == [items[0].registered, items[1].registered]
    unit = UnitResult(status="failed", registered=shape, items=tuple(items), looped=True)
    assert unit.set_vars == {"a": 1, "b": 2}
    assert unit.meta_action is None

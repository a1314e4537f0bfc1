"""Every built-in step's schema is valid, fully described, and matches its docs page."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from corral import ConnectionType, StepType
from corral_plugins import control, facts, files, local, shell

STEP_MODULES: tuple[ModuleType, ...] = (shell, control, files, facts)
DOCS = Path(__file__).resolve().parents[2] / "docs"
ANSIBLE_MODULES = {
    "shell", "command", "script", "debug", "set_fact", "assert", "fail", "pause", "meta",
    "wait_for", "copy", "template", "file", "stat", "setup",
}  # fmt: skip


def _all_steps() -> list[StepType]:
    found: list[StepType] = []
    for module in STEP_MODULES:
        module.corral_register_steps(register=found.append)
    # The control family also registers ``approval``, corral's own step (docs/steps/approval.md).
    return [step for step in found if step.name in ANSIBLE_MODULES]


STEPS = _all_steps()
by_name = pytest.mark.parametrize("step", STEPS, ids=[step.name for step in STEPS])


def test_the_expected_steps_are_registered_once() -> None:
    names = [name for step in STEPS for name in (step.name, *step.aliases)]
    assert len(names) == len(set(names))
    assert {step.name for step in STEPS} == ANSIBLE_MODULES


@by_name
def test_schema_is_valid_json_schema(step: StepType) -> None:
    Draft202012Validator.check_schema(step.schema)
    assert step.schema["type"] == "object"


@by_name
def test_every_property_has_a_description(step: StepType) -> None:
    properties: dict[str, Any] = step.schema.get("properties", {})
    for name, prop in properties.items():
        assert prop.get("description"), f"{step.name}.{name} has no description"
    extra = step.schema.get("additionalProperties")
    if step.name == "set_fact":
        assert isinstance(extra, dict)  # its keys are the variables to set
        assert extra["description"]
    else:
        assert extra is False, f"{step.name} accepts unknown arguments"


@by_name
def test_steps_have_ansible_aliases_and_a_description(step: StepType) -> None:
    assert step.aliases[:2] == (f"ansible.builtin.{step.name}", f"ansible.legacy.{step.name}")
    assert step.description
    assert step.check_mode


@by_name
def test_free_form_names_a_string_argument(step: StepType) -> None:
    if step.free_form is None:
        return
    prop = step.schema["properties"][step.free_form]
    sample = "flush_handlers" if step.name == "meta" else "echo hi"
    Draft202012Validator(step.schema).validate({step.free_form: sample})
    assert prop.get("type") == "string" or "enum" in prop


def test_free_form_choices_match_ansible() -> None:
    free = {step.name: step.free_form for step in STEPS}
    assert free["shell"] == free["command"] == free["script"] == "cmd"
    assert free["meta"] == "action"
    assert free["debug"] is None
    assert free["fail"] is None


def test_controller_steps_never_need_the_host() -> None:
    on = {step.name: step.on for step in STEPS}
    for name in ("debug", "set_fact", "assert", "fail", "pause", "meta"):
        assert on[name] == "controller"
    for name in ("shell", "command", "script", "wait_for", "copy", "template", "file", "stat"):
        assert on[name] == "target"


@by_name
def test_docs_page_lists_every_argument_with_its_description(step: StepType) -> None:
    page = DOCS / "steps" / f"{step.name}.md"
    assert page.exists(), f"docs/steps/{step.name}.md is missing"
    text = page.read_text()
    assert text.startswith(f"# {step.name} ")
    for heading in ("## Arguments", "## Returns", "## Check mode and diff", "## Examples"):
        assert heading in text, f"{page.name} lacks {heading}"
    assert "```yaml" in text
    for name, prop in step.schema.get("properties", {}).items():
        assert f"| `{name}`" in text, f"{page.name} does not list {name}"
        assert prop["description"] in text, f"{page.name}: {name}'s description is stale"


def test_local_connection_is_documented_with_its_settings() -> None:
    found: list[ConnectionType] = []
    local.corral_register_connections(register=found.append)
    text = (DOCS / "connections.md").read_text()
    assert "## local" in text
    for setting in found[0].settings:
        assert f"`{setting.name}`" in text
        assert setting.description in text


def test_entry_points_name_every_builtin_module() -> None:
    installed = {ep.value for ep in entry_points(group="corral")}
    for module in (*STEP_MODULES, local):
        assert module.__name__ in installed, f"{module.__name__} has no corral entry point"

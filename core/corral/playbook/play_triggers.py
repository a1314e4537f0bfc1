"""A play's ``triggers:``: each entry names a registered trigger type and gives its arguments.

::

    triggers:
      - cron: {schedule: "30 2 * * 1-5", timezone: Europe/Berlin}

Checked when the playbook is loaded, as steps are: an unknown type (with a close match
suggested), arguments its schema refuses, and what the type's own ``validate`` refuses
(a cron expression, a time zone) are errors at the entry's line. Templated values
(``"{{ secret('KEY') }}"``) are not judged here: they are rendered when the trigger is
armed. The arguments a type lists in ``templates`` (the webhook's ``params``) are its
own templates, rendered per event: they are judged as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.errors import Location, PlaybookError, did_you_mean
from corral.playbook.args import is_templated, location_in
from corral.playbook.keyword_values import describe_kind, item_location, on_key
from corral.playbook.model import Trigger
from corral.playbook.schema_check import surely_valid
from corral.playbook.yaml.load import mark_of
from corral.playbook.yaml.marked import unmark
from corral.triggers import TriggerType

__all__ = ["load_triggers"]


def load_triggers(
    entries: Any, types: Mapping[str, TriggerType], where: Location
) -> tuple[Trigger, ...]:
    """The play's triggers, checked (``entries`` already passed the keyword schema)."""
    found: list[Trigger] = []
    for index, entry in enumerate(entries or ()):
        at = item_location(entries, index, where)
        kind = str(next(iter(entry)))
        trigger = types.get(kind)
        if trigger is None:
            known = ", ".join(sorted(types)) or "none installed"
            raise PlaybookError(
                f"unknown trigger {kind!r}",
                hint=did_you_mean(kind, types) or f"trigger types: {known} (corral plugins)",
                location=at,
            )
        value = entry[kind]
        if not isinstance(value, Mapping):
            raise PlaybookError(
                f"trigger {kind!r} takes a mapping of arguments, got {describe_kind(value)}",
                location=mark_of(value) or at,
            )
        args = on_key(unmark(dict(value)))  # YAML 1.1 reads a bare on: key as True
        _check(trigger, args, value, at)
        found.append(Trigger(kind, args, at))
    return tuple(found)


def _check(trigger: TriggerType, args: dict[str, Any], source: Any, at: Location) -> None:
    plain = {
        key: value
        for key, value in args.items()
        if key in trigger.templates or not is_templated(value)
    }
    if not surely_valid(trigger.schema, plain):
        from jsonschema import Draft202012Validator

        errors = Draft202012Validator(trigger.schema).iter_errors(plain)
        for error in sorted(errors, key=lambda e: list(e.absolute_path)):
            path = list(error.absolute_path)
            if error.validator == "required" and not path:
                missing = [name for name in error.validator_value if name not in plain]
                if all(name in args for name in missing):
                    continue  # given, as a template: judged when the trigger is armed
            known = trigger.schema.get("properties", {})
            extra = sorted(str(k) for k in plain if k not in known)
            if error.validator == "additionalProperties" and not path and extra:
                raise PlaybookError(
                    f"unknown argument {extra[0]!r} for trigger {trigger.name!r}",
                    hint=did_you_mean(extra[0], known),
                    location=location_in(source, [extra[0]], at),
                )
            field = ".".join(str(p) for p in path)
            prefix = f"trigger {trigger.name!r}: " + (f"{field}: " if field else "")
            raise PlaybookError(prefix + error.message, location=location_in(source, path, at))
    if trigger.validate is not None and len(plain) == len(args):
        try:
            trigger.validate(args)
        except ValueError as exc:
            raise PlaybookError(f"trigger {trigger.name!r}: {exc}", location=at) from None

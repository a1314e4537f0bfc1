"""Reading ``policy.yml``: where it is, its schema, and the rules it holds.

The file is found as docs/policy.md says: ``--policy FILE``, else ``CORRAL_POLICY``,
else ``policy.yml`` in the project directory (the current one, where ``corral serve``
starts its runs too). Every mistake in it is a :class:`~corral.errors.PolicyError` at
``file:line:col`` (exit 4), found before any run starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from corral.errors import CorralError, Location, PolicyError, did_you_mean

__all__ = ["KINDS", "Policy", "Rule", "find_policy", "load_policy"]

POLICY_FILE = "policy.yml"
# One of these keys says what a rule checks; the other keys scope it.
KINDS = ("approval", "max_hosts", "freeze", "allow_playbooks", "params")

_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_DURATION = {"type": ["string", "number"]}
RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "reason"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "reason": {"type": "string", "minLength": 1},
        "hint": {"type": "string"},
        "groups": _STRINGS,
        "playbooks": _STRINGS,
        "check_mode": {"type": "boolean"},
        "approval": {
            "anyOf": [
                {"const": True},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "message": {"type": "string"},
                        "timeout": _DURATION,
                        "forbid_starter": {"type": "boolean"},
                    },
                },
            ]
        },
        "max_hosts": {"type": "integer", "minimum": 1},
        "freeze": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "start": {"type": "string"},
                "duration": _DURATION,
                # Unquoted, YAML reads 2026-12-22 as a date: parse_time takes both.
                "from": {},
                "until": {},
                "timezone": {"type": "string"},
            },
        },
        "allow_playbooks": _STRINGS,
        "params": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "required": _STRINGS,
                "match": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}
POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rules"],
    "properties": {
        "timezone": {"type": "string"},
        "rules": {"type": "array", "items": RULE_SCHEMA},
    },
}


@dataclass(frozen=True)
class Rule:
    """One rule of policy.yml: its kind, its settings and its scope."""

    name: str
    reason: str
    kind: str
    value: Any
    location: Location
    hint: str = ""
    groups: tuple[str, ...] = ()  # applies to plays with a host in one of these ("" = all)
    playbooks: tuple[str, ...] = ()  # applies to these playbooks (globs; empty = all)
    check_mode: bool = False  # applies to --check runs too
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


@dataclass(frozen=True)
class Policy:
    path: Path
    rules: tuple[Rule, ...]


def find_policy(given: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The policy file: ``given`` (``--policy``), else ``CORRAL_POLICY``, else ``policy.yml``.

    A file named by the option or the variable must exist; ``policy.yml`` in ``cwd``
    is read when it is there.
    """
    named = given or (Path(environ["CORRAL_POLICY"]) if environ.get("CORRAL_POLICY") else None)
    if named is not None:
        if not named.is_file():
            how = "--policy" if given else "CORRAL_POLICY"
            raise PolicyError(
                f"policy file not found: {named} (named by {how})",
                hint="give the path of a policy.yml (docs/policy.md)",
            )
        return named
    # Shown as written (policy.yml:3:5) when it is the current directory's.
    default = Path(POLICY_FILE) if cwd.resolve() == Path.cwd().resolve() else cwd / POLICY_FILE
    return default if default.is_file() else None


def load_policy(path: Path) -> Policy:
    """Read and check ``path``; raises :class:`PolicyError` at the offending place."""
    from corral.errors import PlaybookError
    from corral.playbook.yaml.load import load_yaml_file

    name = str(path)
    try:
        data = load_yaml_file(path, display_name=name)
    except PlaybookError as exc:  # YAML syntax: same message, the policy's error class
        raise PolicyError(exc.message, hint=exc.hint, location=exc.location) from None
    top = Location(name, 1, 1)
    if data is None:
        raise PolicyError(
            "policy file is empty", hint="write 'rules:' with a list of rules", location=top
        )
    _check_schema(data, top)
    zone = _zone(data.get("timezone", "UTC"), data, ["timezone"], top)
    rules = []
    seen: dict[str, Location] = {}
    for index, raw in enumerate(data["rules"]):
        rule = _rule(raw, data, index, zone, top)
        if rule.name in seen:
            raise PolicyError(
                f"rule {rule.name!r} is defined twice (first at {seen[rule.name]})",
                hint="give every rule its own name",
                location=rule.location,
            )
        seen[rule.name] = rule.location
        rules.append(rule)
    return Policy(path=path, rules=tuple(rules))


def _check_schema(data: Any, top: Location) -> None:
    """Raise for the first schema error, in file order, as one located line."""
    from jsonschema import Draft202012Validator

    from corral.playbook.args import location_in

    errors = sorted(
        Draft202012Validator(POLICY_SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path)
    )
    for found in errors[:1]:
        error = found
        if found.validator == "anyOf" and isinstance(found.instance, Mapping):
            # approval: a mapping of settings (not true): the mapping branch's own error.
            error = next(e for e in found.context or [found] if e.validator != "const")
        path = list(error.absolute_path)
        where = location_in(data, path, top)
        field_name = _field_name(data, path)
        if not path and error.validator == "type":
            raise PolicyError(
                "a policy file is a mapping with a 'rules:' list",
                hint="see docs/policy.md",
                location=where,
            )
        if error.validator == "anyOf":
            raise PolicyError(
                f"{field_name}: takes true, or a mapping of message, timeout, forbid_starter",
                hint="see docs/policy.md",
                location=where,
            )
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            known = error.schema.get("properties", {})
            extra = sorted(str(k) for k in error.instance if k not in known)
            if extra:
                raise PolicyError(
                    f"unknown key {extra[0]!r} in {field_name}",
                    hint=did_you_mean(extra[0], known) or f"known keys: {', '.join(known)}",
                    location=location_in(data, [*path, extra[0]], top),
                )
        raise PolicyError(
            f"{field_name}: {error.message}", hint="see docs/policy.md", location=where
        )


def _field_name(data: Any, path: list[Any]) -> str:
    """``rule 'small runs' max_hosts`` for the path ``rules, 0, max_hosts``."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rule = data["rules"][path[1]]
        name = rule.get("name") if isinstance(rule, Mapping) else None
        head = f"rule {str(name)!r}" if isinstance(name, str) else f"rule {path[1] + 1}"
        return " ".join([head, ".".join(str(p) for p in path[2:])]).strip()
    return ".".join(str(p) for p in path) or "the file"


def _rule(raw: Any, data: Any, index: int, zone: ZoneInfo, top: Location) -> Rule:
    from corral.playbook.args import location_in
    from corral.playbook.yaml.marked import unmark

    at = location_in(data, ["rules", index], top)
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        found = f"has {' and '.join(kinds)}" if kinds else "says nothing to check"
        raise PolicyError(
            f"rule {str(raw['name'])!r} {found}: a rule has exactly one of {', '.join(KINDS)}",
            hint="split it into one rule per check" if kinds else "see docs/policy.md",
            location=at,
        )
    kind = kinds[0]
    path = ["rules", index, kind]
    value = unmark(raw[kind])
    if kind == "freeze":
        zone = _check_freeze(raw[kind], data, path, zone, top)
    elif kind == "params":
        for name, pattern in value.get("match", {}).items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise PolicyError(
                    f"params.match.{name}: {pattern!r} is not a regular expression ({exc})",
                    location=location_in(data, [*path, "match", name], top),
                ) from None
    return Rule(
        name=str(raw["name"]),
        reason=str(raw["reason"]),
        kind=kind,
        value=value,
        location=at,
        hint=str(raw.get("hint", "")),
        groups=tuple(str(g) for g in raw.get("groups", ())),
        playbooks=tuple(str(p) for p in raw.get("playbooks", ())),
        check_mode=bool(raw.get("check_mode", False)),
        timezone=zone,
    )


def _check_freeze(
    spec: Mapping[str, Any], data: Any, path: list[Any], zone: ZoneInfo, top: Location
) -> ZoneInfo:
    """A freeze is ``start`` + ``duration`` (recurring) or ``from`` + ``until`` (once)."""
    from croniter import croniter

    from corral.engine.retry import parse_duration
    from corral.playbook.args import location_in

    def fail(message: str, *key: str, hint: str | None = None) -> PolicyError:
        return PolicyError(message, hint=hint, location=location_in(data, [*path, *key], top))

    if "timezone" in spec:
        zone = _zone(spec["timezone"], data, [*path, "timezone"], top)
    recurring, once = "start" in spec or "duration" in spec, "from" in spec or "until" in spec
    if recurring == once:
        raise fail(
            "freeze needs either start and duration, or from and until",
            hint="start: '0 18 * * 5' with duration: 62h, or from: '2026-12-22 00:00'"
            " with until: '2027-01-02 08:00'",
        )
    if recurring:
        for key in ("start", "duration"):
            if key not in spec:
                raise fail(f"freeze: {key} is missing")
        if not croniter.is_valid(str(spec["start"])):
            raise fail(
                f"freeze.start: {spec['start']!r} is not a cron expression",
                "start",
                hint="five fields: minute hour day month weekday, e.g. '0 18 * * 5'",
            )
        try:
            seconds = parse_duration(spec["duration"])
        except (CorralError, ValueError, TypeError):
            seconds = None
        if not seconds or seconds <= 0:
            raise fail(
                f"freeze.duration: {spec['duration']!r} is not a duration",
                "duration",
                hint="e.g. 90m, 62h, 2d",
            )
        return zone
    for key in ("from", "until"):
        if key not in spec:
            raise fail(f"freeze: {key} is missing")
        if parse_time(spec[key]) is None:
            raise fail(
                f"freeze.{key}: {spec[key]!r} is not a date and time",
                key,
                hint="write it as YYYY-MM-DD HH:MM (in the policy's time zone)",
            )
    if parse_time(spec["until"]) <= parse_time(spec["from"]):  # type: ignore[operator]
        raise fail("freeze: until is not after from", "until")
    return zone


def parse_time(value: Any) -> datetime | None:
    """``2026-12-22 00:00`` (or ISO 8601 with T, or a YAML date); naive, in the rule's zone."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip()).replace(tzinfo=None)
    except ValueError:
        return None


def _zone(name: Any, data: Any, path: list[Any], top: Location) -> ZoneInfo:
    from corral.playbook.args import location_in

    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(
            f"unknown time zone {str(name)!r}",
            hint="an IANA name such as UTC, Europe/Berlin or America/New_York",
            location=location_in(data, path, top),
        ) from None

"""The ``debconf`` step: Ansible's ``debconf`` module, a package's answer preseeded.

The current answers come from ``debconf-show PACKAGE`` (a password's from debconf's
password database, which ``debconf-show`` does not print); a differing answer is set with
``debconf-set-selections`` (``-u`` marks it unseen). Results are Ansible's: ``current``,
``previous`` and a before/after diff of the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.hostio import read_text, run, run_ok

__all__ = ["debconf"]

PASSWORDS = "/var/cache/debconf/passwords.dat"


def _selections(ctx: StepContext, package: str) -> dict[str, str]:
    out = run_ok(ctx, ["debconf-show", package])
    answers: dict[str, str] = {}
    for line in out.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            answers[key.strip("*").strip()] = value.strip()
    return answers


def _password(ctx: StepContext, question: str) -> str:
    """A password answer, from debconf's password database (records of ``Field: value``)."""
    text = read_text(ctx, PASSWORDS) or ""
    for record in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in record.splitlines():
            key, _, value = line.partition(":")
            if line and not line.startswith(" "):
                fields[key] = value.strip()
        if fields.get("Name") == question:
            return fields.get("Value", "")
    return ""


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, list) else str(value)


def debconf(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set one debconf answer when it differs (or read a package's answers)."""
    package = args.get("name") or args.get("pkg")
    question = args.get("question") or args.get("selection") or args.get("setting")
    vtype = args.get("vtype")
    raw = args.get("value", args.get("answer"))
    if question is not None and (vtype is None or raw is None):
        return StepResult(
            failed=True, msg="when supplying a question you must supply a valid vtype and value"
        )
    try:
        previous = _selections(ctx, str(package))
        if question is None:
            return StepResult(data={"current": previous, "msg": ""})
        value = _text(raw)
        changed = _differs(ctx, previous, question, str(vtype), value)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if not changed:
            return StepResult(data={"current": previous, "msg": ""})
        if not ctx.check_mode:
            argv = ["debconf-set-selections", *(["-u"] if args.get("unseen") else [])]
            result = run(ctx, argv, stdin=f"{package} {question} {vtype} {value}\n")
            if result.rc != 0:
                return StepResult(failed=True, msg=result.stderr.strip() or f"rc={result.rc}")
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    before = {question: previous.get(question, "")}
    after = {question: value}
    data = {"current": after, "previous": before, "msg": ""}
    return StepResult(changed=True, diff={"before": before, "after": after}, data=data)


def _differs(
    ctx: StepContext, previous: Mapping[str, str], question: str, vtype: str, value: Any
) -> bool:
    if question not in previous:
        return True
    existing: Any = previous[question]
    if vtype == "boolean":
        existing = existing.lower()
        value = str(value).lower()
    elif vtype == "password":
        existing = _password(ctx, question)
    elif vtype == "multiselect":
        wanted = value if isinstance(value, list) else value.split(",")
        return sorted(str(v).strip() for v in wanted) != sorted(
            v.strip() for v in existing.split(",") if v.strip()
        )
    return bool(existing != value)

"""A play's ``vars_prompt``: variables asked of the person running the playbook.

As Ansible: each entry names a variable, the question, an optional ``default`` (what an
empty answer gives), whether the answer is ``private`` (not echoed; by default it is)
and whether to ``confirm`` it (asked twice). A variable given with ``-e`` is not asked.
The answers are the play's variables, above its ``vars``. Without a terminal (a pipe,
CI, ``corral serve``'s workers) nothing is asked, as in Ansible: a prompt takes its
default, or is null, with a warning naming ``-e``. Private answers are secrets from then
on (redacted everywhere); an ``unsafe`` answer is never templated.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from corral.errors import Location, PlaybookError
from corral.playbook.keyword_values import item_location
from corral.playbook.yaml.marked import unmark

if TYPE_CHECKING:
    from corral.playbook.model import Playbook

__all__ = ["Prompt", "answer_prompts", "load_prompts"]

_KEYS = frozenset({"name", "prompt", "default", "private", "confirm", "unsafe"})
_UNSUPPORTED = {"encrypt", "salt", "salt_size"}
_TRIES = 3  # a confirmation that does not match is asked again, this many times in all


@dataclass(frozen=True)
class Prompt:
    """One ``vars_prompt`` entry."""

    name: str
    prompt: str
    location: Location
    default: Any = None
    private: bool = True
    confirm: bool = False
    unsafe: bool = False


def load_prompts(value: Any, where: Location) -> tuple[Prompt, ...]:
    """The entries of a play's ``vars_prompt`` (a list of mappings, or Ansible 1's mapping
    of variable names to questions)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):  # {release: "Which release?"}
        return tuple(Prompt(str(k), str(v), where) for k, v in unmark(value).items())
    if not isinstance(value, list):
        raise PlaybookError("vars_prompt must be a list of prompts", location=where)
    return tuple(
        _prompt(unmark(entry), item_location(value, index, where))
        for index, entry in enumerate(value)
    )


def _prompt(entry: Any, at: Location) -> Prompt:
    if not isinstance(entry, Mapping) or not entry.get("name"):
        raise PlaybookError(
            "each vars_prompt entry is a mapping with a 'name'",
            hint="- name: release\n  prompt: Which release?",
            location=at,
        )
    unknown = sorted(set(entry) - _KEYS)
    if set(unknown) & _UNSUPPORTED:
        raise PlaybookError(
            f"vars_prompt {entry['name']!r}: {unknown[0]!r} is not supported",
            hint="ask for the plain value, and hash it where it is used",
            location=at,
        )
    if unknown:
        raise PlaybookError(
            f"vars_prompt {entry['name']!r}: unknown key {unknown[0]!r}",
            hint=f"known keys: {', '.join(sorted(_KEYS))}",
            location=at,
        )
    name = str(entry["name"])
    return Prompt(
        name=name,
        prompt=str(entry.get("prompt") or name),
        location=at,
        default=entry.get("default"),
        private=bool(entry.get("private", True)),
        confirm=bool(entry.get("confirm", False)),
        unsafe=bool(entry.get("unsafe", False)),
    )


def answer_prompts(
    playbook: Playbook,
    extra_vars: Mapping[str, Any],
    warn: Callable[[str], None],
    *,
    interactive: bool | None = None,
    ask: Callable[[str, bool], str] | None = None,
) -> Playbook:
    """``playbook`` with each play's prompts answered and put above its ``vars``.

    ``interactive`` defaults to whether stdin and stderr are terminals; ``ask(question,
    private)`` reads one answer (``input``/``getpass`` on the terminal by default).
    """
    if not any(play.prompts for play in playbook.plays):
        return playbook
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    ask = ask or _ask_terminal
    plays = []
    for play in playbook.plays:
        answers = {}
        for prompt in play.prompts:
            if prompt.name in extra_vars:
                continue
            if interactive:
                value = _answer(prompt, ask)
            else:
                value = prompt.default
                warn(
                    f"not prompting for {prompt.name!r} ({prompt.location}): no terminal; "
                    + ("its default is used" if value is not None else "it is null")
                    + f", give it with -e {prompt.name}=VALUE"
                )
            answers[prompt.name] = _kept(prompt, value)
        plays.append(replace(play, vars={**play.vars, **answers}) if answers else play)
    return replace(playbook, plays=tuple(plays))


def _answer(prompt: Prompt, ask: Callable[[str, bool], str]) -> Any:
    shown = prompt.prompt + (f" [{prompt.default}]" if prompt.default is not None else "")
    for _ in range(_TRIES):
        value = ask(f"{shown}: ", prompt.private)
        if prompt.confirm and ask(f"confirm {prompt.prompt}: ", prompt.private) != value:
            print("***** VALUES ENTERED DO NOT MATCH ****", file=sys.stderr)
            continue
        return value if value != "" or prompt.default is None else prompt.default
    raise PlaybookError(
        f"vars_prompt {prompt.name!r}: the confirmation did not match, {_TRIES} times",
        location=prompt.location,
    )


def _kept(prompt: Prompt, value: Any) -> Any:
    """A private answer is a secret; an unsafe one is data only."""
    if value is None:
        return None
    if prompt.private:
        from corral.secrets import Secret, remember_secret

        remember_secret(str(value))  # redacted from every event, however it is used
        return Secret(str(value))
    if prompt.unsafe:
        from corral.playbook.yaml.read import mark_unsafe

        return mark_unsafe(str(value))
    return value


def _ask_terminal(question: str, private: bool) -> str:
    if private:
        return getpass.getpass(question, stream=sys.stderr)
    print(question, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().rstrip("\n")

"""Secret values: they render into commands but never into output, events or the store."""

from __future__ import annotations

REDACTED = "********"


class Secret:
    """A string that prints as ``********``; ``reveal()`` gives the real value.

    Step code calls ``reveal()`` only at the point where the value leaves corral
    (a sudo password written to stdin, an Authorization header); everywhere else
    the wrapper keeps it out of logs, reprs and JSON.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("corral.Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def reveal(value: str | Secret | None) -> str | None:
    """The real string behind ``value``, which may or may not be a :class:`Secret`."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def redact_text(text: str, secrets: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``********``."""
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, REDACTED)
    return text

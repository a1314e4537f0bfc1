"""Secret values: they render into commands but never into output, events or the store."""

from __future__ import annotations

import json
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

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


# Host variables that hold a login, become or key password: secrets wherever they are set
# (inventory, group_vars/host_vars, -e), from the moment they are read, whether or not a
# task ever logs in or becomes with them.
SECRET_VARIABLES = frozenset(
    {
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
        "ansible_sudo_password",
        "ansible_su_pass",
        "ansible_su_password",
        "ansible_private_key_passphrase",
        "ansible_ssh_private_key_passphrase",
    }
)


def revealed(values: Iterable[Any]) -> list[str]:
    """The real text of every :class:`Secret` among ``values`` (other values are skipped)."""
    return [value.reveal() for value in values if isinstance(value, Secret)]


def keep_secret(values: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """``values`` with the value of each name in ``names`` wrapped in :class:`Secret`.

    A value given for a secret by another route (``-e`` over a secret param, an
    inventory password) stays a secret. ``None`` stays ``None``: there is nothing to hide.
    """
    kept = dict(values)
    for name in kept.keys() & set(names):
        value = kept[name]
        if value is not None and not isinstance(value, Secret):
            kept[name] = Secret(value if isinstance(value, str) else _text(value))
    return kept


def _text(value: Any) -> str:
    # A number or a structure given for a secret: its JSON form is what a template sees.
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def redact_command_line(
    argv: Sequence[str], names: Collection[str], values: Collection[str] = ()
) -> list[str]:
    """``argv`` with what ``-p``/``-e`` give the secrets ``names`` shown as ``********``.

    ``-p NAME=VALUE``, ``--param=NAME=VALUE``, ``-e 'a=1 NAME=VALUE'`` and ``-e JSON``
    lose the values of ``names``; ``@FILE`` arguments name a file and are kept. Then
    every occurrence of each of ``values`` (the secrets' real text) is redacted from
    every argument, whatever option carried it.
    """
    secret_names = frozenset(names)
    shown: list[str] = []
    pending: str | None = None
    for arg in argv:
        if pending is not None:
            shown.append(_redact_option_value(pending, arg, secret_names))
            pending = None
            continue
        option = _value_option(arg)
        if option is None:
            shown.append(arg)
        elif option == arg:
            shown.append(arg)
            pending = option
        else:
            value = arg[len(option) :]
            shown.append(option + _redact_option_value(option, value, secret_names))
    return [redact_text(arg, tuple(values)) for arg in shown]


_PARAM_OPTIONS = ("--param=", "-p")
_EXTRA_VARS_OPTIONS = ("--extra-vars=", "-e")


def _value_option(arg: str) -> str | None:
    """The ``-p``/``-e`` option ``arg`` is or starts with (``-pNAME=V``, ``--param=...``)."""
    if arg in ("-p", "--param", "-e", "--extra-vars"):
        return arg
    for option in (*_PARAM_OPTIONS, *_EXTRA_VARS_OPTIONS):
        if arg.startswith(option) and len(arg) > len(option):
            return option
    return None


def _redact_option_value(option: str, value: str, names: frozenset[str]) -> str:
    if value.startswith("@") or not names:
        return value
    if option in ("-p", "--param", "--param="):
        key, sep, _ = value.partition("=")
        return f"{key}={REDACTED}" if sep and key.strip() in names else value
    if value.strip().startswith(("{", "[")):
        return _redact_json(value, names)
    return _redact_words(value, names)


def _redact_json(value: str, names: frozenset[str]) -> str:
    """``-e '{"name": ...}'``: the secrets' values as ``********``."""
    try:
        data = json.loads(value)
    except ValueError:
        # YAML flow or broken JSON: hide the whole value if it may hold a secret.
        return REDACTED if any(name in value for name in names) else value
    if isinstance(data, dict) and names & data.keys():
        return json.dumps({k: REDACTED if k in names else v for k, v in data.items()})
    return value


def _redact_words(value: str, names: frozenset[str]) -> str:
    """``-e 'a=1 name=...'``: the secrets' values as ``********``."""
    try:
        words = shlex.split(value)
    except ValueError:
        return REDACTED if any(name in value for name in names) else value
    parts, hidden = [], False
    for word in words:
        key, sep, _ = word.partition("=")
        if sep and key in names:
            parts.append(f"{key}={REDACTED}")
            hidden = True
        else:
            parts.append(shlex.quote(word))
    return " ".join(parts) if hidden else value


# Values that are secrets wherever they appear, remembered for the whole process: what a
# vault password decrypts (corral.vault). The event bus of every run redacts them.
_REMEMBERED: list[str] = []
_REMEMBERED_SET: set[str] = set()


def remember_secret(value: str) -> None:
    """Redact ``value`` from every event of every run from now on."""
    if value and value not in _REMEMBERED_SET:
        _REMEMBERED_SET.add(value)
        _REMEMBERED.append(value)


def remembered_count() -> int:
    """How many values :func:`remember_secret` has been given (cheap to ask on every event)."""
    return len(_REMEMBERED)


def remembered_secrets(start: int = 0) -> list[str]:
    """The values :func:`remember_secret` was given, from the ``start``-th on."""
    return _REMEMBERED[start:]


class VaultText(str):
    """The plaintext of a ``!vault`` value, which keeps its ciphertext (see :mod:`corral.vault`).

    A ``str`` to everything that uses it, so tasks and templates use it as the string it
    is; it is not templated again (a password may well contain ``{{``), and
    ``corral inventory --list`` prints the ciphertext, as ``ansible-inventory`` does.
    """

    __slots__ = ("ciphertext",)
    ciphertext: str

    def __new__(cls, plaintext: str, ciphertext: str) -> VaultText:
        text = super().__new__(cls, plaintext)
        text.ciphertext = ciphertext
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (VaultText, (str(self), self.ciphertext))

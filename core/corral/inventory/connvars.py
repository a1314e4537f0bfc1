"""The connection variables of a host, read and typed as Ansible reads them.

``ansible_host``, ``ansible_port``, ``ansible_user``, ``ansible_connection``,
``ansible_ssh_private_key_file``, ``ansible_password``, the ``ansible_become*``
family and ``ansible_python_interpreter`` (with their older ``ansible_ssh_*``
spellings) become one typed :class:`ConnectionVars`. Connection types may use
it instead of picking variables themselves. Call it on variables that are
already templated: a value that still holds ``{{ }}`` is not a port.

Passwords (:data:`corral.secrets.SECRET_VARIABLES`) are secrets wherever they are
set: :func:`mark_secrets` wraps them, and the variables a templated password is
built from, in :class:`corral.Secret` as soon as a host's variables are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from corral.errors import InventoryError
from corral.secrets import SECRET_VARIABLES, keep_secret

__all__ = [
    "ConnectionVars",
    "connection_vars",
    "is_template",
    "mark_secrets",
    "parse_boolean",
    "secret_names",
]

_TRUE = frozenset({"y", "yes", "on", "1", "true", "t"})
_FALSE = frozenset({"n", "no", "off", "0", "false", "f", ""})


@dataclass(frozen=True)
class ConnectionVars:
    """How to reach one host and how to become another user there."""

    host: str  # the inventory name
    connection: str  # ansible_connection: "ssh" unless the inventory says otherwise
    address: str  # ansible_host, else the inventory name
    port: int | None = None
    user: str | None = None
    password: Any = None  # ansible_password; a str or a corral Secret
    private_key_file: str | None = None
    python_interpreter: str | None = None
    become: bool = False
    become_user: str | None = None
    become_method: str | None = None
    become_password: Any = None
    become_flags: str | None = None


def connection_vars(host: str, variables: Mapping[str, Any]) -> ConnectionVars:
    """Read the connection variables of ``host`` from its merged ``variables``.

    Raises :class:`~corral.errors.InventoryError` for a port that is not a
    number or a ``become`` that is not a boolean.
    """

    def pick(*names: str) -> Any:
        for name in names:
            value = variables.get(name)
            if value is not None:
                return value
        return None

    def text(*names: str) -> str | None:
        value = pick(*names)
        return None if value is None else str(value)

    return ConnectionVars(
        host=host,
        connection=text("ansible_connection") or "ssh",
        address=text("ansible_host", "ansible_ssh_host") or host,
        port=_port(host, pick("ansible_port", "ansible_ssh_port")),
        user=text("ansible_user", "ansible_ssh_user"),
        password=pick("ansible_password", "ansible_ssh_pass"),
        private_key_file=text("ansible_ssh_private_key_file", "ansible_private_key_file"),
        python_interpreter=text("ansible_python_interpreter"),
        become=_boolean(host, "ansible_become", pick("ansible_become")),
        become_user=text("ansible_become_user"),
        become_method=text("ansible_become_method"),
        become_password=pick("ansible_become_password", "ansible_become_pass"),
        become_flags=text("ansible_become_flags"),
    )


_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_template(value: Any) -> TypeGuard[str]:
    """``value`` is a string holding ``{{``, ``{%`` or ``{#``: it is rendered when used."""
    return isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value)


def secret_names(variables: Mapping[str, Any]) -> set[str]:
    """The names among ``variables`` that hold secrets.

    Every password of :data:`~corral.secrets.SECRET_VARIABLES`, and, when a password
    is a template, every variable it names, and so on
    (``ansible_become_password: "{{ sudo_pw }}"`` makes ``sudo_pw`` a secret too).
    """
    names = set(SECRET_VARIABLES.intersection(variables))
    pending = list(names)
    while pending:
        value = variables.get(pending.pop())
        if not is_template(value):
            continue
        for word in _NAMES.findall(value):
            if word in variables and word not in names:
                names.add(word)
                pending.append(word)
    return names


def mark_secrets(variables: Mapping[str, Any]) -> dict[str, Any]:
    """``variables`` with the plain values of :func:`secret_names` as :class:`corral.Secret`.

    Strings that are templates are left as they are (they are rendered when used, and
    the engine hides what they render to); so are mappings and lists, whose parts a
    template may pick.
    """
    plain = [
        name
        for name in secret_names(variables)
        if isinstance(variables[name], str | int | float)
        and not isinstance(variables[name], bool)
        and not is_template(variables[name])
    ]
    return keep_secret(variables, plain) if plain else dict(variables)


def _port(host: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536 or isinstance(value, bool | float):
        raise InventoryError(f"host {host!r}: ansible_port must be a port number, not {value!r}")
    return port


def parse_boolean(value: Any) -> bool:
    """A boolean host variable as Ansible reads one: ``yes``/``no``, ``on``/``off``, ``1``/``0``...

    Raises ValueError for anything else; connection plugins read their own flags with it.
    """
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _boolean(host: str, name: str, value: Any) -> bool:
    if value is None:
        return False
    try:
        return parse_boolean(value)
    except ValueError:
        raise InventoryError(f"host {host!r}: {name} must be a boolean, not {value!r}") from None

"""``ansible.cfg`` and ``ANSIBLE_*`` variables, read as Ansible reads them, into one typed object.

The file is found as Ansible finds it, the first that exists winning: ``$ANSIBLE_CONFIG``
(a file, or a directory holding ``ansible.cfg``), ``./ansible.cfg`` (unless the current
directory is world-writable, as in Ansible), ``~/.ansible.cfg``, ``/etc/ansible/ansible.cfg``.
It is INI as Ansible writes it: ``#`` and ``;`` start comment lines, ``;`` after a value
starts a comment too, ``%(name)s`` interpolates; relative paths are relative to the
file's directory, ``~`` is expanded.

Environment variables (``ANSIBLE_FORKS``...) override the file; the command line
overrides both (:mod:`corral.commands.connect`). Keys corral does not use are collected
in :attr:`AnsibleSettings.ignored`; ``corral run -v`` lists them once. Which keys are read
and what they become is in docs/ansible-cfg.md.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import EXIT_INVALID, CorralError, Location

if TYPE_CHECKING:
    import configparser

__all__ = ["AnsibleSettings", "ConfigError", "find_config", "load_settings"]

_TRUE = frozenset({"y", "yes", "on", "1", "true", "t"})
_FALSE = frozenset({"n", "no", "off", "0", "false", "f"})
GATHERING = ("implicit", "explicit", "smart")


class ConfigError(CorralError):
    """An ``ansible.cfg`` (or ``ANSIBLE_*`` variable) that cannot be read or holds a bad value."""

    exit_code = EXIT_INVALID


@dataclass(frozen=True)
class AnsibleSettings:
    """What ``ansible.cfg`` and ``ANSIBLE_*`` say; ``None`` where neither says anything."""

    path: Path | None = None  # the ansible.cfg read, if any
    inventory: tuple[str, ...] = ()
    forks: int | None = None
    remote_user: str | None = None
    remote_port: int | None = None
    private_key_file: Path | None = None
    timeout: float | None = None  # seconds to connect
    host_key_checking: bool | None = None
    ask_pass: bool = False
    become: bool | None = None
    become_method: str | None = None
    become_user: str | None = None
    become_ask_pass: bool = False
    gathering: str | None = None  # implicit, explicit or smart
    roles_path: tuple[Path, ...] = ()
    collections_path: tuple[Path, ...] = ()
    filter_plugins: tuple[Path, ...] = ()  # directories of the content's Jinja2 filters
    test_plugins: tuple[Path, ...] = ()
    vault_password_file: Path | None = None
    vault_identity_list: tuple[str, ...] = ()
    ssh_args: str | None = None
    ssh_common_args: str | None = None
    ssh_extra_args: str | None = None
    ssh_retries: int | None = None
    # "section.key" of every key of the file corral does not use, in file order.
    ignored: tuple[str, ...] = ()
    # Where each value came from ("ansible.cfg:12" or "ANSIBLE_FORKS"), by field name.
    sources: Mapping[str, str] = field(default_factory=dict)

    def host_defaults(self) -> dict[str, Any]:
        """The host variables these settings stand for, below every inventory variable.

        Ansible's order: configuration < command line < playbook keywords < variables.
        """
        values: dict[str, Any] = {
            "ansible_user": self.remote_user,
            "ansible_port": self.remote_port,
            "ansible_ssh_private_key_file": _text(self.private_key_file),
            "corral_ssh_connect_timeout": self.timeout,
            "ansible_host_key_checking": self.host_key_checking,
            "ansible_become": self.become,
            "ansible_become_method": self.become_method,
            "ansible_become_user": self.become_user,
            "ansible_ssh_common_args": _join(self.ssh_args, self.ssh_common_args),
            "ansible_ssh_extra_args": self.ssh_extra_args,
            "corral_ssh_connect_retries": self.ssh_retries,
        }
        return {name: value for name, value in values.items() if value is not None}


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _join(*parts: str | None) -> str | None:
    given = [part for part in parts if part]
    return " ".join(given) if given else None


# (section, key) -> (field, kind). Kinds: str, int, float, bool, path, pathlist
# (comma-separated), pathspec (colon-separated), list (comma-separated), gathering.
_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("defaults", "inventory"): ("inventory", "pathlist"),
    ("defaults", "hostfile"): ("inventory", "pathlist"),
    ("defaults", "forks"): ("forks", "int"),
    ("defaults", "remote_user"): ("remote_user", "str"),
    ("defaults", "remote_port"): ("remote_port", "int"),
    ("defaults", "private_key_file"): ("private_key_file", "path"),
    ("defaults", "timeout"): ("timeout", "float"),
    ("defaults", "host_key_checking"): ("host_key_checking", "bool"),
    ("defaults", "ask_pass"): ("ask_pass", "bool"),
    ("defaults", "gathering"): ("gathering", "gathering"),
    ("defaults", "roles_path"): ("roles_path", "pathspec"),
    ("defaults", "collections_path"): ("collections_path", "pathspec"),
    ("defaults", "collections_paths"): ("collections_path", "pathspec"),
    ("defaults", "filter_plugins"): ("filter_plugins", "pathspec"),
    ("defaults", "test_plugins"): ("test_plugins", "pathspec"),
    ("defaults", "vault_password_file"): ("vault_password_file", "path"),
    ("defaults", "vault_identity_list"): ("vault_identity_list", "list"),
    ("privilege_escalation", "become"): ("become", "bool"),
    ("privilege_escalation", "become_method"): ("become_method", "str"),
    ("privilege_escalation", "become_user"): ("become_user", "str"),
    ("privilege_escalation", "become_ask_pass"): ("become_ask_pass", "bool"),
    ("ssh_connection", "ssh_args"): ("ssh_args", "str"),
    ("ssh_connection", "ssh_common_args"): ("ssh_common_args", "str"),
    ("ssh_connection", "ssh_extra_args"): ("ssh_extra_args", "str"),
    ("ssh_connection", "retries"): ("ssh_retries", "int"),
}

_ENV: dict[str, tuple[str, str]] = {
    "ANSIBLE_INVENTORY": ("inventory", "pathlist"),
    "ANSIBLE_FORKS": ("forks", "int"),
    "ANSIBLE_REMOTE_USER": ("remote_user", "str"),
    "ANSIBLE_REMOTE_PORT": ("remote_port", "int"),
    "ANSIBLE_PRIVATE_KEY_FILE": ("private_key_file", "path"),
    "ANSIBLE_TIMEOUT": ("timeout", "float"),
    "ANSIBLE_HOST_KEY_CHECKING": ("host_key_checking", "bool"),
    "ANSIBLE_ASK_PASS": ("ask_pass", "bool"),
    "ANSIBLE_GATHERING": ("gathering", "gathering"),
    "ANSIBLE_ROLES_PATH": ("roles_path", "pathspec"),
    "ANSIBLE_COLLECTIONS_PATHS": ("collections_path", "pathspec"),
    "ANSIBLE_COLLECTIONS_PATH": ("collections_path", "pathspec"),
    "ANSIBLE_FILTER_PLUGINS": ("filter_plugins", "pathspec"),
    "ANSIBLE_TEST_PLUGINS": ("test_plugins", "pathspec"),
    "ANSIBLE_VAULT_PASSWORD_FILE": ("vault_password_file", "path"),
    "ANSIBLE_VAULT_IDENTITY_LIST": ("vault_identity_list", "list"),
    "ANSIBLE_BECOME": ("become", "bool"),
    "ANSIBLE_BECOME_METHOD": ("become_method", "str"),
    "ANSIBLE_BECOME_USER": ("become_user", "str"),
    "ANSIBLE_BECOME_ASK_PASS": ("become_ask_pass", "bool"),
    "ANSIBLE_SSH_ARGS": ("ssh_args", "str"),
    "ANSIBLE_SSH_COMMON_ARGS": ("ssh_common_args", "str"),
    "ANSIBLE_SSH_EXTRA_ARGS": ("ssh_extra_args", "str"),
    "ANSIBLE_SSH_RETRIES": ("ssh_retries", "int"),
}


def find_config(environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The ``ansible.cfg`` Ansible would read, or None."""
    candidates: list[Path] = []
    given = environ.get("ANSIBLE_CONFIG")
    if given:
        path = Path(os.path.expanduser(given))
        candidates.append(path / "ansible.cfg" if path.is_dir() else path)
    if not _world_writable(cwd):  # Ansible ignores it there: anyone could have put it
        candidates.append(cwd / "ansible.cfg")
    home = environ.get("HOME")
    if home:
        candidates.append(Path(home) / ".ansible.cfg")
    candidates.append(Path("/etc/ansible/ansible.cfg"))
    for path in candidates:
        if path.is_file():
            return path
    return None


def _world_writable(directory: Path) -> bool:
    try:
        return bool(directory.stat().st_mode & stat.S_IWOTH)
    except OSError:
        return False


def load_settings(environ: Mapping[str, str], cwd: Path | None = None) -> AnsibleSettings:
    """Read the ``ansible.cfg`` found (if any), then the ``ANSIBLE_*`` variables over it.

    Raises :class:`ConfigError` (exit 4) for a file that is not valid INI or a value of
    the wrong type, naming ``file:line`` or the variable.
    """
    cwd = cwd or Path(os.getcwd())
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    ignored: list[str] = []
    path = find_config(environ, cwd)
    if path is not None:
        _read_file(path, values, sources, ignored, environ)
    for name, (attr, kind) in _ENV.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        values[attr] = _convert(raw, kind, cwd, _env_problem(name), environ)
        sources[attr] = name
    return AnsibleSettings(path=path, ignored=tuple(ignored), sources=sources, **values)


def _env_problem(name: str) -> Callable[[str], ConfigError]:
    def problem(message: str) -> ConfigError:
        return ConfigError(f"{name}: {message}", hint=f"fix or unset {name}")

    return problem


def _read_file(
    path: Path,
    values: dict[str, Any],
    sources: dict[str, str],
    ignored: list[str],
    environ: Mapping[str, str],
) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    # Imported here: most runs have no ansible.cfg, and configparser costs start-up time.
    import configparser

    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        raise ConfigError(
            f"ansible.cfg is not valid INI: {_short(exc, message)}",
            hint="ansible.cfg holds [section] headers and key = value lines",
            location=Location(str(path), line),
        ) from None
    base = path.parent
    for section in parser.sections():
        for key in parser.options(section):
            if key in parser.defaults() and section != parser.default_section:
                continue
            where = Location(str(path), _line_of(text, section, key))
            known = _KEYS.get((section, key))
            if known is None:
                ignored.append(f"{section}.{key}")
                continue
            attr, kind = known
            try:
                raw = parser.get(section, key)
            except configparser.Error as exc:
                raise ConfigError(
                    f"{section}.{key}: {str(exc).splitlines()[0]}",
                    hint="write a literal % as %%",
                    location=where,
                ) from None

            def problem(message: str, key: str = key, where: Location = where) -> ConfigError:
                return ConfigError(
                    f"{key}: {message}",
                    hint="fix the value, or remove the key to use the default",
                    location=where,
                )

            values[attr] = _convert(raw, kind, base, problem, environ)
            sources[attr] = str(where)


def _short(exc: configparser.Error, message: str) -> str:
    import configparser

    if isinstance(exc, configparser.MissingSectionHeaderError):
        return "a key before the first [section] header"
    if isinstance(exc, configparser.DuplicateOptionError | configparser.DuplicateSectionError):
        return message.split(": ", 1)[-1]
    return message


def _line_of(text: str, section: str, key: str) -> int | None:
    """The line of ``key`` in ``[section]``: configparser does not keep line numbers."""
    current = None
    pattern = re.compile(rf"\s*{re.escape(key)}\s*[=:]", re.IGNORECASE)
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
        elif current == section and pattern.match(line):
            return number
    return None


def _convert(  # noqa: PLR0911 - one return per kind of value
    raw: str,
    kind: str,
    base: Path,
    problem: Callable[[str], ConfigError],
    environ: Mapping[str, str],
) -> Any:
    value = raw.strip()
    if kind == "str":
        return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise problem(f"must be a whole number, not {value!r}") from None
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            raise problem(f"must be a number of seconds, not {value!r}") from None
    if kind == "bool":
        word = value.lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise problem(f"must be true or false (yes/no, on/off, 1/0), not {value!r}")
    if kind == "gathering":
        if value.lower() not in GATHERING:
            raise problem(f"must be one of {', '.join(GATHERING)}, not {value!r}")
        return value.lower()
    if kind == "list":
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if kind == "path":
        return _path(value, base, environ)
    separator = "," if kind == "pathlist" else os.pathsep
    paths = [_path(p.strip(), base, environ) for p in value.split(separator) if p.strip()]
    return tuple(str(p) for p in paths) if kind == "pathlist" else tuple(paths)


def _path(value: str, base: Path, environ: Mapping[str, str]) -> Path:
    """Ansible's resolve_path: ``$VARS`` and ``~`` expanded, relative to the file's directory.

    Expanded from ``environ`` (the command's environment), not this process's.
    """
    expanded = _VARIABLE.sub(lambda m: environ.get(m.group(1) or m.group(2), m.group(0)), value)
    home = environ.get("HOME")
    if home and (expanded == "~" or expanded.startswith("~/")):
        expanded = home + expanded[1:]
    path = Path(os.path.expanduser(expanded))
    return path if path.is_absolute() else base / path


_VARIABLE = re.compile(r"\$(?:(\w+)|\{(\w+)\})")

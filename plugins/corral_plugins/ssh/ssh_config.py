"""OpenSSH's own inputs, parsed: ssh_config files, ssh command-line options, ProxyJump specs.

paramiko parses ssh_config (:class:`SshConfigFiles` caches each file until it changes);
``ansible_ssh_common_args`` and ``ansible_ssh_extra_args`` are read by :func:`parse_ssh_args`.
"""

from __future__ import annotations

import importlib
import shlex
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from corral import HostUnreachable

if TYPE_CHECKING:
    from paramiko import SSHConfig

__all__ = ["SshConfigFiles", "load_paramiko", "parse_jump", "parse_port", "parse_ssh_args"]


def load_paramiko() -> ModuleType:
    """paramiko, imported on first use without importing invoke until ``Match exec`` needs it.

    paramiko.config imports invoke (for ssh_config ``Match exec`` lines) when it loads,
    and invoke brings asyncio and unittest.mock: half of paramiko's import time (70 ms of
    140 here), paid while every worker waits for its first host. paramiko takes a missing
    invoke quietly; corral then hands it a stand-in that imports invoke when a ``Match
    exec`` line runs.
    """
    with _PARAMIKO_LOCK:
        if "paramiko" not in sys.modules and "invoke" not in sys.modules:
            sys.modules["invoke"] = None  # type: ignore[assignment] # import invoke fails
            try:
                import paramiko.config
            finally:
                del sys.modules["invoke"]
            config: Any = paramiko.config
            if config.invoke is None and config.invoke_import_error is not None:
                config.invoke, config.invoke_import_error = _InvokeOnUse(), None
    import paramiko

    return paramiko


class _InvokeOnUse:
    """Stands for the invoke module in paramiko.config; imports it on first use."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("invoke"), name)


_PARAMIKO_LOCK = threading.Lock()


# ssh options that change nothing for corral (it has its own connection reuse).
_IGNORED_OPTIONS = frozenset(
    {
        "controlmaster",
        "controlpath",
        "controlpersist",
        "compression",
        "loglevel",
        "batchmode",
        "forwardagent",
        "requesttty",
        "preferredauthentications",
        "pubkeyauthentication",
        "passwordauthentication",
        "kbdinteractiveauthentication",
        "gssapiauthentication",
        "serveralivecountmax",
        "addkeystoagent",
        "identityagent",
        "ciphers",
        "kexalgorithms",
        "macs",
    }
)


class SshConfigFiles:
    """Parsed ssh_config files, read again only when they change; shared by connections."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], SSHConfig]] = {}
        self._lock = threading.Lock()

    def lookup(self, path: Path, name: str) -> dict[str, Any]:
        """The options ``path`` gives for host ``name`` (lowercase keys); {} without a file."""
        ssh_config = load_paramiko().SSHConfig

        try:
            st = path.stat()
        except OSError:
            return {}
        signature = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(path)
        if cached is None or cached[0] != signature:
            try:
                parsed = ssh_config.from_path(str(path))
            except Exception as exc:
                raise HostUnreachable(
                    f"cannot read the ssh config {path}: {exc}",
                    hint="fix the file, or point corral_ssh_config elsewhere",
                ) from exc
            with self._lock:
                self._cache[path] = (signature, parsed)
            cached = (signature, parsed)
        try:
            return dict(cached[1].lookup(name))
        except Exception as exc:
            raise HostUnreachable(f"cannot apply the ssh config {path} to {name}: {exc}") from exc


def parse_ssh_args(text: str) -> dict[str, Any]:
    """ssh command-line options as ssh_config keys (lowercase); the first of each wins.

    Understands ``-o Key=Value`` (and ``-oKey=Value``), ``-J``, ``-p``, ``-l``, ``-i``
    and ``-F``; other flags are ignored. ``identityfile`` collects a list.
    """
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise HostUnreachable(f"cannot split ansible_ssh_common_args: {exc}") from exc
    flags = {
        "-J": "proxyjump",
        "-p": "port",
        "-l": "user",
        "-i": "identityfile",
        "-F": "configfile",
    }
    options: dict[str, Any] = {}
    index = 0
    while index < len(words):
        word = words[index]
        key: str | None = None
        value = ""
        if word.startswith("-o"):
            option = word[2:] or (words[index + 1] if index + 1 < len(words) else "")
            index += 1 if word[2:] else 2
            name, _, value = option.replace("=", " ", 1).partition(" ")
            key, value = name.strip().lower(), value.strip()
        elif word[:2] in flags:
            key = flags[word[:2]]
            value = word[2:] or (words[index + 1] if index + 1 < len(words) else "")
            index += 1 if word[2:] else 2
        else:
            index += 1
            continue
        if key == "identityfile":
            options.setdefault(key, []).append(value)
        elif key not in _IGNORED_OPTIONS:
            options.setdefault(key, value)
    return options


def parse_jump(spec: str) -> list[tuple[str | None, str, int | None]]:
    """``[user@]host[:port][,...]`` (ProxyJump) as (user, host, port) triples; [] for ``none``."""
    hops: list[tuple[str | None, str, int | None]] = []
    if spec.strip().lower() == "none":
        return hops
    for part in spec.split(","):
        text = part.strip()
        if text.startswith("ssh://"):
            text = text[len("ssh://") :]
        user, _, rest = text.rpartition("@")
        port: int | None = None
        if rest.startswith("["):
            host, _, tail = rest[1:].partition("]")
            if tail.startswith(":"):
                port = parse_port(tail[1:], "ProxyJump")
        elif rest.count(":") == 1:
            host, _, port_text = rest.partition(":")
            port = parse_port(port_text, "ProxyJump")
        else:
            host = rest
        if not host:
            raise HostUnreachable(f"ProxyJump {spec!r} has an empty host name")
        hops.append((user or None, host, port))
    return hops


def parse_port(text: str, what: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise HostUnreachable(f"{what}: {text!r} is not a port number")
    return port

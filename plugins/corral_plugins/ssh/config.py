"""How the ``ssh`` connection reaches a host: host variables, ssh options and ssh_config, resolved.

For each setting the first of these that gives a value wins, as with OpenSSH's own
first-obtained-value rule and Ansible's command line:

1. the host's variables (``ansible_host``, ``ansible_port``, ``ansible_user``,
   ``ansible_ssh_private_key_file``, ``host_key_checking``, ``corral_ssh_*``...);
2. options in ``ansible_ssh_common_args`` / ``ansible_ssh_extra_args``
   (``-o Key=Value``, ``-J``, ``-p``, ``-l``, ``-i``, ``-F``);
3. ``~/.ssh/config`` (or ``corral_ssh_config``): ``HostName``, ``User``, ``Port``,
   ``IdentityFile``, ``ProxyJump``, ``StrictHostKeyChecking``, ``UserKnownHostsFile``,
   ``HostKeyAlias``, ``ConnectTimeout``, ``ServerAliveInterval``, ``ConnectionAttempts``;
4. the defaults of :data:`corral_plugins.ssh.settings.SETTINGS`.

The result is a frozen :class:`SshTarget`; nothing here opens a connection. Parsing
OpenSSH's own inputs (ssh_config, ``-o`` options, ProxyJump) is
:mod:`corral_plugins.ssh.ssh_config`.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral import HostUnreachable, InventoryError, Secret
from corral.inventory import connection_vars
from corral.inventory.connvars import parse_boolean
from corral.paths import corral_home
from corral_plugins.ssh.hostkeys import host_entry_name, parse_policy
from corral_plugins.ssh.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KEEPALIVE,
    DEFAULT_KEY_NAMES,
    DEFAULT_RETRY_DELAY,
)
from corral_plugins.ssh.ssh_config import SshConfigFiles, parse_jump, parse_port, parse_ssh_args

__all__ = ["Hop", "SshTarget", "resolve_target"]


@dataclass(frozen=True)
class Hop:
    """One SSH server on the way: a jump host or the target itself."""

    address: str
    port: int
    user: str
    known_names: tuple[str, ...]  # the names its key is filed under in known_hosts
    key_files: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to open an SSH connection to one host."""

    host: str  # the inventory name
    hop: Hop  # the target
    jumps: tuple[Hop, ...] = ()
    password: Secret | None = None
    key_files: tuple[Path, ...] = ()  # tried before the agent
    default_key_files: tuple[Path, ...] = ()  # tried after the agent
    use_agent: bool = True
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    connect_retries: int = 0
    retry_delay: float = DEFAULT_RETRY_DELAY
    keepalive: float = DEFAULT_KEEPALIVE
    command_timeout: float | None = None
    host_key_checking: str = "strict"
    known_hosts_files: tuple[Path, ...] = ()  # read only
    corral_known_hosts: Path = field(default_factory=lambda: Path("known_hosts"))
    become_exe: str = "sudo"


def _flag(variables: Mapping[str, Any], name: str, default: bool) -> bool:
    value = variables.get(name)
    if value is None:
        return default
    try:
        return parse_boolean(value)
    except ValueError:
        raise HostUnreachable(f"{name} must be true or false, not {value!r}") from None


def _seconds(value: Any, name: str, default: float | None) -> float | None:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lower() in ("none", "null"):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if seconds < 0 or isinstance(value, bool):
        raise HostUnreachable(f"{name} must be a number of seconds, not {value!r}")
    return seconds


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None and v != ""), None)


def _paths(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _refuse_templates(host: str, variables: Mapping[str, Any]) -> None:
    for name in ("ansible_host", "ansible_port", "ansible_user", "ansible_ssh_private_key_file"):
        value = variables.get(name)
        if isinstance(value, str) and "{{" in value:
            raise HostUnreachable(
                f"{name} of {host} is a template ({value!r}); connection settings are not rendered",
                hint="give the value itself in the inventory",
            )


def _expand(path: str | Path, home: Path) -> Path:
    """``~`` and relative paths against ``home`` (the environment given, not this process's)."""
    text = str(path)
    if text == "~" or text.startswith("~/"):
        return home / text[2:]
    found = Path(os.path.expanduser(text))
    return found if found.is_absolute() else home / found


@dataclass(frozen=True)
class _Layers:
    """A setting's sources, highest first: host variables, ssh args, ssh_config."""

    variables: Mapping[str, Any]
    args: Mapping[str, Any]
    config: Mapping[str, Any]

    def get(self, *names: str, option: str | None = None) -> Any:
        """The first value among the variables ``names``, then ``option`` in args and config."""
        values = [self.variables.get(name) for name in names]
        if option is not None:
            values += [self.args.get(option), self.config.get(option)]
        return _first(*values)


def resolve_target(
    host: str,
    variables: Mapping[str, Any],
    *,
    environ: Mapping[str, str],
    configs: SshConfigFiles,
) -> SshTarget:
    """Resolve how to reach ``host`` from its merged inventory ``variables``.

    Raises :class:`~corral.HostUnreachable` for settings that cannot be used (a port that
    is not a number, an unknown ``host_key_checking``, a ``ProxyCommand``).
    """
    _refuse_templates(host, variables)
    try:
        conn = connection_vars(host, variables)
    except InventoryError as exc:
        raise HostUnreachable(exc.message, hint=exc.hint) from exc
    home = Path(environ.get("HOME") or Path.home())
    names = ("ansible_ssh_common_args", "ansible_ssh_extra_args")
    args_text = " ".join(str(variables.get(n) or "") for n in names)
    args = parse_ssh_args(args_text) if args_text.strip() else {}
    default_config = home / ".ssh" / "config"
    config_path = _expand(
        _first(variables.get("corral_ssh_config"), args.get("configfile"), default_config), home
    )
    asked = str(_first(variables.get("ansible_host"), variables.get("ansible_ssh_host"), host))
    layers = _Layers(variables, args, configs.lookup(config_path, asked))
    if layers.get(option="proxycommand") not in (None, "none"):
        raise HostUnreachable(
            f"{host}: ProxyCommand is not supported by corral's ssh connection",
            hint="use ProxyJump (or corral_ssh_proxy_jump) for jump hosts",
        )
    # As with `ssh NAME`: ssh_config's HostName for the name asked for beats the name itself.
    address = str(layers.get(option="hostname") or asked)
    port = conn.port or parse_port(str(layers.get(option="port") or 22), f"{host}: Port")
    local_user = environ.get("USER") or getpass.getuser()
    alias = layers.get(option="hostkeyalias")
    jump_spec = layers.get("corral_ssh_proxy_jump", option="proxyjump")
    return SshTarget(
        host=host,
        hop=Hop(
            address,
            port,
            str(_first(conn.user, layers.get(option="user"), local_user)),
            (str(alias),) if alias else _known_names(address, port),
        ),
        jumps=tuple(_jump_hops(str(jump_spec), config_path, configs, local_user, home))
        if jump_spec
        else (),
        password=conn.password
        if isinstance(conn.password, Secret | None)
        else Secret(str(conn.password)),
        **_key_settings(
            variables.get("ansible_ssh_private_key_file")
            or variables.get("ansible_private_key_file"),
            layers,
            home,
        ),
        **_host_key_settings(host, layers, environ, home),
        **_timing(layers),
        become_exe=str(variables.get("ansible_become_exe") or "sudo"),
    )


def _key_settings(private_key_file: Any, layers: _Layers, home: Path) -> dict[str, Any]:
    """The key files to offer before the agent, after it, and whether to use the agent."""
    explicit = _paths(private_key_file) or [
        *layers.args.get("identityfile", []),
        *layers.config.get("identityfile", []),
    ]
    identities_only = str(layers.get(option="identitiesonly") or "no").lower() == "yes"
    look_for_keys = _flag(layers.variables, "corral_ssh_look_for_keys", not identities_only)
    return {
        "key_files": tuple(_expand(k, home) for k in explicit),
        "default_key_files": tuple(home / ".ssh" / n for n in DEFAULT_KEY_NAMES)
        if look_for_keys
        else (),
        "use_agent": _flag(layers.variables, "corral_ssh_agent", True),
    }


def _host_key_settings(
    host: str, layers: _Layers, environ: Mapping[str, str], home: Path
) -> dict[str, Any]:
    """The policy, the known_hosts files read, and corral's own file (written by accept-new)."""
    value = layers.get(
        "host_key_checking", "ansible_host_key_checking", option="stricthostkeychecking"
    )
    try:
        policy = parse_policy("strict" if value is None else value)
    except ValueError as exc:
        raise HostUnreachable(f"{host}: {exc}", hint="use strict, accept-new or off") from exc
    user_files = layers.get(option="userknownhostsfile")
    listed = (
        str(user_files).split() if user_files else ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]
    )
    read = [_expand(p, home) for p in listed if p != "/dev/null"]
    corral_file = layers.get("corral_known_hosts") or corral_home(environ) / "known_hosts"
    return {
        "host_key_checking": policy,
        "known_hosts_files": (*read, Path("/etc/ssh/ssh_known_hosts")),
        "corral_known_hosts": _expand(corral_file, home),
    }


def _timing(layers: _Layers) -> dict[str, Any]:
    """Connect timeout, retries and their delay, keepalive, and the default command timeout."""
    variables = layers.variables
    retries = layers.get("corral_ssh_connect_retries", "ansible_ssh_retries")
    attempts = layers.get(option="connectionattempts")
    if retries is None and attempts is not None:
        retries = _count(attempts, "ConnectionAttempts") - 1
    timeout = _seconds(
        layers.get("corral_ssh_connect_timeout", "ansible_ssh_timeout", option="connecttimeout"),
        "corral_ssh_connect_timeout",
        DEFAULT_CONNECT_TIMEOUT,
    )
    keepalive = _seconds(
        layers.get("corral_ssh_keepalive", option="serveraliveinterval"),
        "corral_ssh_keepalive",
        DEFAULT_KEEPALIVE,
    )
    delay = _seconds(
        variables.get("corral_ssh_retry_delay"), "corral_ssh_retry_delay", DEFAULT_RETRY_DELAY
    )
    command = _seconds(
        variables.get("corral_ssh_command_timeout"), "corral_ssh_command_timeout", None
    )
    return {
        "connect_timeout": timeout or DEFAULT_CONNECT_TIMEOUT,
        "connect_retries": _count(retries, "corral_ssh_connect_retries"),
        "retry_delay": delay or 0.0,
        "keepalive": keepalive or 0.0,
        "command_timeout": command,
    }


def _known_names(address: str, port: int) -> tuple[str, ...]:
    return (host_entry_name(address, port),)


def _count(value: Any, name: str) -> int:
    if value is None or value == "":
        return 0
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0 or isinstance(value, bool):
        raise HostUnreachable(f"{name} must be a whole number, not {value!r}")
    return count


def _jump_hops(
    spec: str, config_path: Path, configs: SshConfigFiles, local_user: str, home: Path
) -> list[Hop]:
    """The jump hosts of a ProxyJump spec, each completed from ssh_config as ``ssh -J`` does."""
    hops: list[Hop] = []
    for user, name, port in parse_jump(spec):
        config = configs.lookup(config_path, name)
        address = str(config.get("hostname") or name)
        real_port = port or parse_port(str(config.get("port") or 22), f"jump host {name}: Port")
        alias = config.get("hostkeyalias")
        keys = tuple(_expand(k, home) for k in config.get("identityfile", []))
        hops.append(
            Hop(
                address=address,
                port=real_port,
                user=str(user or config.get("user") or local_user),
                known_names=(str(alias),) if alias else _known_names(address, real_port),
                key_files=keys,
            )
        )
    return hops

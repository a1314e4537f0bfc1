"""``-u``, ``-b``, ``--private-key``, ``-c``, ``-k``, ``-K``...: how to reach hosts, as
ansible-playbook takes them, merged with ``ansible.cfg`` and ``ANSIBLE_*``
(:mod:`corral.ansible_cfg`).

The command line wins over the environment, which wins over the file. What comes out is a
set of host variables (``ansible_user``, ``ansible_become``...) put under every inventory
variable: Ansible's order is configuration < command line < playbook keywords < variables,
so ``ansible_user`` in the inventory still beats ``-u``, and ``become: false`` on a task
still beats ``-b``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from corral.errors import UsageError

if TYPE_CHECKING:
    from corral.ansible_cfg import AnsibleSettings

F = TypeVar("F", bound=Callable[..., Any])

BECOME_METHODS = ("sudo",)


@dataclass(frozen=True)
class ConnectArgs:
    """The connection and privilege options as given on the command line (None: not given)."""

    user: str | None = None
    private_key: str | None = None
    connection: str | None = None
    timeout: float | None = None
    ask_pass: bool = False
    become: bool = False
    become_user: str | None = None
    become_method: str | None = None
    ask_become_pass: bool = False


def connect_options(func: F) -> F:
    """The options of :class:`ConnectArgs`, collected into one ``connect`` argument."""
    options = [
        click.option("-u", "--user", metavar="USER", help="Log in as USER (ansible_user)."),
        click.option(
            "--private-key",
            "--key-file",
            "private_key",
            metavar="FILE",
            help="Private key file to log in with.",
        ),
        click.option(
            "-c",
            "--connection",
            metavar="TYPE",
            help="Connection type for hosts that set none (ssh, local, docker...).",
        ),
        click.option(
            "-T",
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Seconds to connect (ansible.cfg: timeout).",
        ),
        click.option("-k", "--ask-pass", is_flag=True, help="Ask for the SSH password (a secret)."),
        click.option("-b", "--become", is_flag=True, help="Run tasks as another user (sudo)."),
        click.option("--become-user", metavar="USER", help="The user to become (default root)."),
        click.option(
            "--become-method", metavar="METHOD", help="How to become it: sudo (the only one)."
        ),
        click.option(
            "-K",
            "--ask-become-pass",
            is_flag=True,
            help="Ask for the become (sudo) password (a secret).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def connect_args(values: Mapping[str, Any]) -> ConnectArgs:
    """Take the options of :func:`connect_options` out of a command's keyword arguments."""
    return ConnectArgs(
        user=values["user"],
        private_key=values["private_key"],
        connection=values["connection"],
        timeout=values["timeout"],
        ask_pass=values["ask_pass"],
        become=values["become"],
        become_user=values["become_user"],
        become_method=values["become_method"],
        ask_become_pass=values["ask_become_pass"],
    )


def host_defaults(
    settings: AnsibleSettings,
    args: ConnectArgs,
    *,
    cwd: Path,
    ask: bool = True,
    prompt: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The host variables the command line and ``ansible.cfg`` stand for, the command line winning.

    Passwords are asked for (``-k``, ``-K``, or ``ask_pass``/``become_ask_pass`` in
    ``ansible.cfg``) here, once for the run, unless ``ask`` is false; they are kept as
    :class:`corral.Secret`.
    """
    from corral.secrets import Secret

    hint = "corral becomes another user with sudo: use become_method sudo"
    if args.become_method is not None and args.become_method not in BECOME_METHODS:
        raise UsageError(
            f"--become-method: become method {args.become_method!r} is not supported", hint=hint
        )
    if settings.become_method is not None and settings.become_method not in BECOME_METHODS:
        from corral.ansible_cfg import ConfigError

        raise ConfigError(
            f"{settings.sources['become_method']}: become method "
            f"{settings.become_method!r} is not supported",
            hint=hint,
        )
    values = settings.host_defaults()
    given: dict[str, Any] = {
        "ansible_user": args.user,
        "ansible_ssh_private_key_file": str(cwd / args.private_key) if args.private_key else None,
        # "smart" was Ansible's default: ssh, which is corral's.
        "ansible_connection": "ssh" if args.connection == "smart" else args.connection,
        "corral_ssh_connect_timeout": args.timeout,
        "ansible_become": True if args.become else None,
        "ansible_become_user": args.become_user,
        "ansible_become_method": args.become_method,
    }
    values.update({name: value for name, value in given.items() if value is not None})
    if not ask:
        return values
    prompt = prompt or ask_secret
    if args.ask_pass or settings.ask_pass:
        values["ansible_password"] = Secret(prompt("SSH password: "))
    if args.ask_become_pass or settings.become_ask_pass:
        label = "BECOME password"
        if "ansible_password" in values:
            label += "[defaults to SSH password]"
        answer = prompt(f"{label}: ")
        if not answer and "ansible_password" in values:
            values["ansible_become_password"] = values["ansible_password"]
        else:
            values["ansible_become_password"] = Secret(answer)
    return values


def ask_secret(prompt: str) -> str:
    """A password from the terminal, not echoed; from standard input when there is no terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass  # only when a password is asked for

        return getpass.getpass(prompt)
    # Piped in (echo pw | corral run -K ...): one line, without its newline.
    click.echo(prompt, err=True, nl=False)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    click.echo("", err=True)
    return line.rstrip("\r\n")


def inventory_sources(
    given: Sequence[str], settings: AnsibleSettings, environ: Mapping[str, str]
) -> list[str]:
    """``-i`` values; else ``$CORRAL_INVENTORY`` (read by the loader); else ``ansible.cfg``'s."""
    if given or environ.get("CORRAL_INVENTORY", "").strip():
        return list(given)
    return list(settings.inventory)


def forks(given: int | None, settings: AnsibleSettings) -> int:
    """``-f``, else ``forks`` of ``ansible.cfg``/``ANSIBLE_FORKS``, else corral's default."""
    from corral.engine.options import DEFAULT_FORKS

    if given is not None:
        return given
    if settings.forks is not None:
        if settings.forks < 1:
            raise UsageError(
                f"{settings.sources['forks']}: forks must be 1 or more, not {settings.forks}"
            )
        return settings.forks
    return DEFAULT_FORKS


def report_ignored(settings: AnsibleSettings, verbose: int) -> None:
    """With ``-v``: the keys of ``ansible.cfg`` that corral does not use, once, on stderr."""
    if verbose and settings.ignored:
        click.echo(f"ansible.cfg: ignored keys: {', '.join(settings.ignored)}", err=True)

"""Vault passwords: where they come from and how they are read, as Ansible reads them.

A source is a ``[label@]source`` slug, the form of ``--vault-id``: ``source`` is a file
holding the password, an executable file that prints it, or ``prompt`` to ask on the
terminal. ``--vault-password-file FILE`` is ``default@FILE``; ``--ask-vault-pass`` is
``default@prompt``. The order is Ansible's: identities from configuration
(``ANSIBLE_VAULT_IDENTITY_LIST`` or ``vault_identity_list`` in ansible.cfg) first, then
``--vault-id`` values, then password files (``--vault-password-file``, then
``ANSIBLE_VAULT_PASSWORD_FILE`` or ``vault_password_file``), then the prompt.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral.errors import UsageError

__all__ = [
    "SCRIPT_TIMEOUT",
    "VaultConfig",
    "VaultPassword",
    "VaultSecrets",
    "VaultSources",
    "read_passwords",
    "split_slug",
]

DEFAULT_ID = "default"
SCRIPT_TIMEOUT = 60.0
"""Seconds a password script may run (it may prompt on the terminal, as Ansible allows)."""

HOW_TO_GIVE = (
    "give the vault password with --vault-password-file FILE, --ask-vault-pass (-J) or "
    "--vault-id [LABEL@]FILE|prompt, or set ANSIBLE_VAULT_PASSWORD_FILE"
)

Prompt = Callable[[str], str]


@dataclass(frozen=True)
class VaultPassword:
    """One vault password and the vault id (label) it is known by."""

    vault_id: str
    password: bytes = field(repr=False)
    source: str


@dataclass(frozen=True)
class VaultSecrets:
    """The passwords a command was given, in the order they are tried."""

    passwords: tuple[VaultPassword, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.passwords)

    @property
    def ids(self) -> list[str]:
        return [p.vault_id for p in self.passwords]

    def candidates(self, vault_id: str | None) -> list[VaultPassword]:
        """The passwords to try for data encrypted with ``vault_id``: its own first, then all."""
        first = [p for p in self.passwords if vault_id and p.vault_id == vault_id]
        return first + [p for p in self.passwords if p not in first]

    def for_encrypting(self, vault_id: str | None = None) -> VaultPassword:
        """The password to encrypt with: ``--encrypt-vault-id``'s, or the only one given."""
        if not self.passwords:
            raise UsageError("no vault password was given", hint=HOW_TO_GIVE)
        if vault_id is not None:
            for password in self.passwords:
                if password.vault_id == vault_id:
                    return password
            raise UsageError(
                f"--encrypt-vault-id {vault_id}: no vault password has that id "
                f"(known ids: {', '.join(self.ids)})",
                hint="give it with --vault-id " + vault_id + "@FILE",
            )
        if len({p.vault_id for p in self.passwords}) > 1:
            raise UsageError(
                f"the vault ids {', '.join(self.ids)} are available to encrypt with",
                hint="choose one with --encrypt-vault-id LABEL",
            )
        return self.passwords[0]


@dataclass(frozen=True)
class VaultConfig:
    """Vault settings from configuration: ``ansible.cfg`` ``[defaults]`` or the environment.

    The ``ansible.cfg`` reader builds one from ``vault_password_file`` and
    ``vault_identity_list`` and hands it to :func:`corral.vault.configure`; the
    environment variables override it, as in Ansible.
    """

    password_file: str | None = None
    identity_list: tuple[str, ...] = ()

    def with_environ(self, environ: Mapping[str, str]) -> VaultConfig:
        """``ANSIBLE_VAULT_PASSWORD_FILE`` and ``ANSIBLE_VAULT_IDENTITY_LIST`` over these values."""
        password_file = environ.get("ANSIBLE_VAULT_PASSWORD_FILE") or self.password_file
        listed = environ.get("ANSIBLE_VAULT_IDENTITY_LIST")
        identities = (
            tuple(s.strip() for s in listed.split(",") if s.strip())
            if listed
            else self.identity_list
        )
        return VaultConfig(password_file=password_file, identity_list=identities)


@dataclass(frozen=True)
class VaultSources:
    """The vault options of one command line (nothing read yet)."""

    vault_ids: tuple[str, ...] = ()
    password_files: tuple[str, ...] = ()
    ask: bool = False

    def slugs(self, config: VaultConfig) -> list[str]:
        """Every ``label@source`` to read, in Ansible's order (see the module docstring)."""
        slugs = [*config.identity_list, *self.vault_ids]
        files = [*self.password_files]
        if config.password_file:
            files.append(config.password_file)
        slugs.extend(f"{DEFAULT_ID}@{name}" for name in files)
        if self.ask:
            slugs.append(f"{DEFAULT_ID}@prompt_ask_vault_pass")
        return slugs


def split_slug(slug: str) -> tuple[str, str]:
    """``label@source`` -> (label, source); a bare source is the ``default`` id."""
    label, sep, source = slug.partition("@")
    if not sep:
        return DEFAULT_ID, slug
    return label or DEFAULT_ID, source


def read_passwords(
    slugs: Sequence[str],
    *,
    prompt: Prompt,
    new: bool = False,
    warn: Callable[[str], None] | None = None,
) -> VaultSecrets:
    """Read the password of each slug. ``new``: prompts ask twice, for a new password.

    As in Ansible, a password file that cannot be read is a warning when another
    password was read, and the error otherwise (exit 5, naming the file).
    """
    passwords: list[VaultPassword] = []
    failures: list[UsageError] = []
    for slug in slugs:
        label, source = split_slug(slug)
        try:
            if source in ("prompt", "prompt_ask_vault_pass"):
                value = _ask(label, source == "prompt_ask_vault_pass", prompt, new=new)
            else:
                value = _read_source(source, label)
        except UsageError as exc:
            failures.append(exc)
            continue
        passwords.append(VaultPassword(label, value, source))
    if failures and not passwords:
        raise failures[0]
    for failure in failures:
        if warn is not None:
            warn(failure.message)
    return VaultSecrets(tuple(passwords))


def _ask(label: str, plain: bool, prompt: Prompt, *, new: bool) -> bytes:
    if new:
        first = prompt("New vault password: " if plain else f"New vault password ({label}): ")
        again = prompt(
            "Confirm new vault password: " if plain else f"Confirm new vault password ({label}): "
        )
        if first != again:
            raise UsageError("the passwords given do not match")
    else:
        first = prompt("Vault password: " if plain else f"Vault password ({label}): ")
    if not first:
        raise UsageError("an empty vault password was given")
    return first.encode()


def _read_source(source: str, label: str) -> bytes:
    path = Path(os.path.expanduser(source))
    if not path.exists():
        raise UsageError(
            f"the vault password file {source} was not found",
            hint=f"looked for {path.absolute()}",
        )
    if path.is_dir():
        raise UsageError(f"the vault password file {source} is a directory, not a file")
    if os.access(path, os.X_OK):
        value = _run_script(path, label).strip(b"\r\n")
        what = "script"
    else:
        try:
            value = path.read_bytes().strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read the vault password file {source}: {exc.strerror or exc}"
            ) from exc
        what = "file"
    if not value:
        raise UsageError(f"the vault password {what} {source} gave an empty password")
    return value


def _run_script(path: Path, label: str) -> bytes:
    """Run a password script; ``*-client`` scripts get ``--vault-id LABEL``, as in Ansible."""
    import subprocess

    argv = [str(path.absolute())]
    if os.path.splitext(path.name)[0].endswith("-client"):
        argv += ["--vault-id", label]
    try:
        # stderr is not captured, so that a script can ask on the terminal.
        done = subprocess.run(argv, stdout=subprocess.PIPE, timeout=SCRIPT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"the vault password script {path} did not finish within {SCRIPT_TIMEOUT:.0f} s"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot run the vault password script {path}: {exc.strerror or exc}",
            hint="if it is not a script, remove its executable bit (chmod -x)",
        ) from exc
    if done.returncode != 0:
        raise UsageError(
            f"the vault password script {path} exited with {done.returncode}"
            + (f" (it has no password for vault id {label!r})" if done.returncode == 2 else "")
        )
    return done.stdout

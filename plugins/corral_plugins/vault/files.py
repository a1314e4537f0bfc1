"""Reading and writing vault files as ansible-vault does: private modes, stdin and stdout.

A file written by ``encrypt`` or ``decrypt`` replaces the original with a new file of
mode ``0600``, as ansible-vault's; ``rekey`` and ``edit`` keep the file's mode. ``edit`` and
``create`` put the plaintext in a private temporary file (``0600``, in a directory only
the user can enter) for ``$EDITOR``, and remove it afterwards whatever happens.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from corral.errors import UsageError
from corral.vault import VaultError, VaultPassword, is_encrypted
from corral.vault.crypto import encrypt

__all__ = ["edit_plaintext", "read_input", "replace_keeping_mode", "write_output"]


def read_input(name: str) -> bytes:
    """The bytes of file ``name``, or of standard input for ``-``."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def write_output(data: bytes, name: str) -> None:
    """Write ``data`` to file ``name`` (a new file, mode 0600) or to standard output (``-``)."""
    if name == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(name)
    directory = path.parent
    if not os.access(directory, os.W_OK):
        raise UsageError(f"destination {directory} is not writable")
    if path.is_file() or path.is_symlink():
        path.unlink()
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise UsageError(f"{name} was created again while corral was writing it") from None
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)


def replace_keeping_mode(data: bytes, name: str) -> None:
    """Replace file ``name`` with ``data``, keeping its mode (rekey, edit)."""
    mode = os.stat(name).st_mode & 0o7777
    write_output(data, name)
    os.chmod(name, mode)


def encrypt_bytes(plaintext: bytes, password: VaultPassword) -> str:
    if is_encrypted(plaintext):
        raise VaultError("input is already encrypted")
    return encrypt(plaintext, password.password, password.vault_id)


def edit_plaintext(plaintext: bytes, suffix: str) -> bytes:
    """Let the user change ``plaintext`` in ``$EDITOR`` (default ``vi``); the edited bytes."""
    editor = shlex.split(os.environ.get("EDITOR") or "vi")
    if not editor or shutil.which(editor[0]) is None:
        raise UsageError(
            f"cannot run the editor {editor[0] if editor else ''!r}",
            hint="set EDITOR to an editor installed on this machine",
        )
    scratch = tempfile.mkdtemp(prefix="corral-vault-")  # mode 0700
    path = Path(scratch) / f"plaintext{suffix}"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(plaintext)
        try:
            subprocess.run([*editor, str(path)], check=False)
        except OSError as exc:
            raise UsageError(f"cannot run {editor[0]}: {exc.strerror or exc}") from None
        return path.read_bytes()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

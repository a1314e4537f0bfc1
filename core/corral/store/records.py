"""What the run store keeps about a run that is not in its events: a :class:`RunRecord`.

The run command builds one with :func:`new_run_record` before the engine starts and
hands it to :meth:`corral.store.db.Store.begin_run`. It holds a snapshot of every file
the playbook loaded and of the inventory, so ``corral resume`` replays exactly what ran,
whatever changed on disk since. Secrets are redacted here, before anything is stored.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.secrets import REDACTED, Secret, redact_command_line, remembered_count, revealed

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.inventory import Inventory

__all__ = [
    "RunRecord",
    "new_run_record",
    "options_record",
    "recorded_argv",
    "redacted",
    "snapshot_files",
    "snapshot_hash",
]

# The options of RunOptions that a resumed run must reuse.
OPTION_KEYS = (
    "limit",
    "tags",
    "skip_tags",
    "check",
    "diff",
    "forks",
    "start_at_task",
    "max_parallel_plays",
    "host_defaults",  # -u, -b, -c... and ansible.cfg's; passwords redacted
)


@dataclass(frozen=True)
class RunRecord:
    """One run as started: what ran, against what, with what, started by whom."""

    run_id: str
    playbook: str  # the path as given on the command line
    playbook_hash: str  # sha256 of the snapshot (see snapshot_hash)
    snapshot: Mapping[str, str]  # relative path -> text of every file the playbook loaded
    inventory: Mapping[str, Any]  # ansible-inventory --list shape, secrets redacted
    params: Mapping[str, Any]  # redacted
    extra_vars: Mapping[str, Any]  # redacted
    options: Mapping[str, Any]  # OPTION_KEYS
    started_by: str  # user@hostname
    trigger: str  # cli, cron, webhook, resume...
    argv: tuple[str, ...]
    pid: int
    started: float  # Unix seconds
    playbook_file: str = ""  # the playbook's key in ``snapshot``
    cwd: str = ""
    controller: str = field(default_factory=socket.gethostname)  # where pid lives


def redacted(value: Any) -> Any:
    """``value`` made JSON-ready, with every :class:`~corral.secrets.Secret` as ``********``."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redacted(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


PASSWORD_VARS = re.compile(r"(^|_)(password|pass|passwd|secret|token)$|^ansible_.*_pass(word)?$")


def redact_passwords(value: Any) -> Any:
    """Inventory variables that hold passwords (``ansible_become_password``...) as ``********``.

    Also the variables a templated password is made from
    (:func:`corral.inventory.connvars.secret_names`). A resumed run gets them back
    from ``-e`` or a secret param, like other secrets.
    """
    if isinstance(value, dict):
        from corral.inventory.connvars import secret_names

        hidden = secret_names(value)
        return {
            k: REDACTED
            if (k in hidden or PASSWORD_VARS.search(k)) and isinstance(v, str | int | float)
            else redact_passwords(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_passwords(v) for v in value]
    return value


def snapshot_files(paths: Sequence[Path], base: Path) -> dict[str, str]:
    """``{path relative to base: text}`` for each file; files outside ``base`` keep ``..`` parts.

    Paths are POSIX-style so a snapshot taken on one machine materialises on another.
    A file that vanished or is not text is skipped: the snapshot is a record, and the
    run that loaded the file has already read it.
    """
    root = Path(os.path.realpath(base))
    snapshot: dict[str, str] = {}
    for path in paths:
        absolute = Path(os.path.realpath(path))
        try:
            text = absolute.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        snapshot[Path(os.path.relpath(absolute, root)).as_posix()] = text
    return snapshot


def snapshot_hash(snapshot: Mapping[str, str]) -> str:
    """sha256 of the snapshot: the same files with the same text give the same hash."""
    canonical = json.dumps(sorted(snapshot.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def options_record(options: RunOptions) -> dict[str, Any]:
    """The options a resumed run reuses, JSON-ready (tag sets become sorted lists)."""
    record: dict[str, Any] = {}
    for key in OPTION_KEYS:
        if not hasattr(options, key):
            continue
        value = getattr(options, key)
        if isinstance(value, Mapping):
            value = redacted(value)
        record[key] = sorted(value) if isinstance(value, frozenset) else value
    return record


def _unchanged(data: Any) -> Any:
    return data


def new_run_record(
    run_id: str,
    playbook: Path,
    inventory: Inventory,
    options: RunOptions,
    *,
    files: Sequence[Path] = (),
    params: Mapping[str, Any] | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    argv: Sequence[str] = (),
    trigger: str = "cli",
    environ: Mapping[str, str] | None = None,
) -> RunRecord:
    """Build the record of a run about to start.

    ``files`` are every file the playbook loaded (``Playbook.files``); the playbook
    itself is always included. Paths in the snapshot are relative to the playbook's
    directory. ``extra_vars`` defaults to ``options.extra_vars``. Secrets among the
    params and extra vars are redacted, in them and in ``argv`` (:func:`recorded_argv`).
    """
    from corral.inventory.output import list_data

    sealed = redact_decrypted = _unchanged
    if remembered_count():  # something was decrypted from a vault (else no need to load it)
        from corral.vault import redact_decrypted, sealed

    base = Path(os.path.realpath(playbook)).parent
    snapshot = snapshot_files([playbook, *files], base)
    env = os.environ if environ is None else environ
    params = params or {}
    extra_vars = options.extra_vars if extra_vars is None else extra_vars
    return RunRecord(
        run_id=run_id,
        playbook=str(playbook),
        playbook_hash=snapshot_hash(snapshot),
        snapshot=snapshot,
        # What a vault password decrypted is stored encrypted again (inventory: resume
        # reads it back with the password) or redacted (params and extra vars: given
        # again on resume, as secret ones are).
        inventory=redact_passwords(sealed(redacted(list_data(inventory)))),
        params=redact_decrypted(redacted(params)),
        extra_vars=redact_decrypted(redacted(extra_vars)),
        options=options_record(options),
        started_by=f"{_user(env)}@{socket.gethostname()}",
        trigger=trigger,
        argv=recorded_argv(argv, params, extra_vars),
        pid=os.getpid(),
        started=time.time(),
        playbook_file=Path(os.path.realpath(playbook)).name,
        cwd=os.getcwd(),
    )


def recorded_argv(
    argv: Sequence[str], params: Mapping[str, Any], extra_vars: Mapping[str, Any]
) -> tuple[str, ...]:
    """The command line as stored: what it gave the secret params and vars is ``********``.

    The values of ``-p``/``-e`` options naming a secret are redacted, and so is the
    text of every secret wherever else it appears (``-e`` JSON, an option's value).
    """
    given = {**params, **extra_vars}
    names = [name for name, value in given.items() if isinstance(value, Secret)]
    return tuple(redact_command_line(argv, names, revealed(given.values())))


def _user(environ: Mapping[str, str]) -> str:
    for key in ("USER", "LOGNAME"):
        if environ.get(key):
            return environ[key]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())

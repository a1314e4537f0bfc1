"""The errors corral raises, and the exit code each one maps to.

::

    CorralError                      exit 1 unless a subclass says otherwise
     ├── UsageError (ValueError)     exit 5  bad command-line usage
     ├── PlaybookError               exit 4  malformed or invalid playbook
     │    ├── ConversionError        exit 4  an argument that cannot take its declared type
     │    │                                  (corral.playbook.convert)
     │    ├── SplitError             exit 4  unbalanced quotes or Jinja in key=value text
     │    │                                  (corral.playbook.splitter)
     │    ├── UnknownStep            exit 4  a task names a step type no plugin registered
     │    │                                  (corral.playbook.task_forms)
     │    └── VaultError (ValueError) exit 4 vault-encrypted data that cannot be decrypted
     │         ├── FormatError       exit 4  vault text that is damaged or not a vault
     │         └── WrongPassword     exit 4  a password whose HMAC does not match: callers
     │                                       try the next one (all in corral.vault.crypto)
     ├── InventoryError              exit 4  malformed inventory or host pattern
     │    ├── RangeError             exit 4  a host range that cannot be expanded
     │    │                                  (corral.inventory.ranges)
     │    └── SourceClaimError       exit 4  a reader failed on a source only it can read
     │                                       (corral.inventory.source)
     ├── TemplateError               exit 4  Jinja syntax error, undefined variable
     │    └── RenderFailure          exit 4  a render error callers add context to
     │                                       (corral.playbook.templating.errors)
     ├── ParamsError                 exit 4  missing or invalid playbook params
     ├── ConfigError                 exit 4  an ansible.cfg or ANSIBLE_* value corral
     │                                       cannot read (corral.ansible_cfg)
     ├── PolicyError                 exit 4  a run the project's policy refuses, or a
     │                                       policy.yml corral cannot read (corral.policy)
     ├── LeaseHeld                   exit 4  a host or lock another run holds
     │                                       (corral.store.leases)
     ├── PluginLoadError             exit 1  a plugin failed to import or register
     ├── Refused                     exit 1  an MCP tool call the server's flags or the
     │                                       token's scope do not allow (the mcp plugin)
     ├── StoreError                  exit 1  the run store cannot be opened, read or written
     ├── SealError                   exit 1  a broker message that cannot be opened: a wrong
     │                                       key or a changed text (the celery plugin)
     ├── WorkerFailed                exit 1  a worker could not run a shard, or the run was
     │                                       cancelled with shards still out (the celery plugin)
     ├── HostUnreachable             exit 3  a host could not be reached
     │    ├── RetryableUnreachable   exit 3  a failure another attempt may get past
     │    │                                  (the ssh plugin's transport module)
     │    └── BrokerAway             exit 3  the broker went away and did not come back
     │                                       in time (the celery plugin)
     ├── StepFailed                  exit 2  a step failed on a host
     │    ├── BadArgument            exit 2  an argument an edit step cannot use
     │    │                                  (the files plugin's edit module)
     │    ├── DownloadFailed         exit 2  get_url's failure, with its result keys
     │    │                                  (the http plugin's get_url module)
     │    ├── ServiceError           exit 2  a service step's failure, with its result keys
     │    │                                  (the services plugin's host module)
     │    └── UnsafeMember           exit 2  an archive member that would land outside
     │                                       dest (the fileops plugin)
     └── Interrupted                 exit 99 the run was stopped by a signal

    jinja2.UndefinedError
     └── UndefinedValue              never leaves the templar: turned into a
                                     TemplateError (corral.playbook.templating.environment)

    json.JSONDecodeError
     └── JSONTooDeep                 JSON nested deeper than corral reads: callers turn it
                                     into an InventoryError (corral.playbook.yaml.read)

    Exception
     ├── AsyncStarted                not an error: ends a ``poll: 0`` step once its job
     │                               started; the engine turns it into the task's result
     │                               (corral.engine.asyncjob)
     └── Refused                     not an error: a web UI page's early answer (a
                                     redirect to log in, a 403 page)
                                     (the server plugin: ui.session)

The classes without a module named are defined here. ``tests/test_errors.py`` checks
that every exception class in corral and its built-in plugins is drawn above.

Every error carries a message, an optional ``hint`` (what to do about it) and an
optional :class:`Location` (``file:line:col``). ``str(error)`` renders
``file:line:col: message``, the form the CLI prints after ``error:``.

A failure on one host is a *result* (``HostUnreachable`` and ``StepFailed`` are
turned into results by the engine), never an exception that stops other hosts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CorralError",
    "HostUnreachable",
    "Interrupted",
    "InventoryError",
    "Location",
    "ParamsError",
    "PlaybookError",
    "PluginLoadError",
    "StepFailed",
    "StoreError",
    "TemplateError",
    "UsageError",
    "did_you_mean",
    "error_location",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_FAILED = 2
EXIT_UNREACHABLE = 3
EXIT_INVALID = 4
EXIT_USAGE = 5
EXIT_INTERRUPTED = 99


@dataclass(frozen=True)
class Location:
    """A place in a file a user wrote; ``line`` and ``col`` count from 1."""

    file: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


class CorralError(Exception):
    """The root of corral's errors: a message, a hint and a location."""

    exit_code = EXIT_INTERNAL

    def __init__(
        self, message: str, *, hint: str | None = None, location: Location | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"


class UsageError(CorralError, ValueError):
    """Bad command-line usage: an unknown option, a malformed ``-e`` value."""

    exit_code = EXIT_USAGE


class PlaybookError(CorralError):
    """A playbook that cannot be loaded or is invalid; raised before any host is touched."""

    exit_code = EXIT_INVALID


class InventoryError(CorralError):
    """An inventory source that cannot be read, or an invalid host pattern."""

    exit_code = EXIT_INVALID


class TemplateError(CorralError):
    """A Jinja2 syntax error, an undefined variable, or a refused sandbox operation."""

    exit_code = EXIT_INVALID


class ParamsError(CorralError):
    """Playbook params that are missing or do not match their declared types."""

    exit_code = EXIT_INVALID


class PolicyError(CorralError):
    """A run a policy rule refuses, or a ``policy.yml`` that is malformed (docs/policy.md)."""

    exit_code = EXIT_INVALID


class PluginLoadError(CorralError):
    """A plugin failed to import or register, or two plugins registered one name."""

    exit_code = EXIT_INTERNAL


class StoreError(CorralError):
    """The run store cannot be opened, read or written."""

    exit_code = EXIT_INTERNAL


class HostUnreachable(CorralError):
    """A connection could not be opened or was lost; becomes an UNREACHABLE result."""

    exit_code = EXIT_UNREACHABLE


class StepFailed(CorralError):
    """A step could not do its work; step code may raise it instead of returning a failed result."""

    exit_code = EXIT_FAILED


class Interrupted(CorralError):
    """The run was stopped by SIGINT or SIGTERM."""

    exit_code = EXIT_INTERRUPTED


@contextlib.contextmanager
def error_location(location: Location | None) -> Iterator[None]:
    """Attach ``location`` to any :class:`CorralError` raised inside that has none."""
    try:
        yield
    except CorralError as exc:
        if exc.location is None:
            exc.location = location
        raise


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for a misspelt ``word``, or None when nothing is close."""
    import difflib

    matches = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.7)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"

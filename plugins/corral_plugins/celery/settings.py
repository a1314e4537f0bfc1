"""Where the broker is and how to talk to it: :class:`BrokerSettings` and :func:`load_settings`.

Each value is taken from the first place that has it:

1. the command line (``--broker URL``, ``-Q/--queue NAME``);
2. the environment: ``CORRAL_BROKER_URL``, ``CORRAL_RESULT_BACKEND``, and the shared key
   as ``CORRAL_BROKER_KEY`` (urlsafe base64 of 32 bytes) or ``CORRAL_BROKER_KEY_FILE`` (a
   file holding that text);
3. the project's ``corral.yml`` in the current directory, its ``scale_out:`` mapping::

       scale_out:
         broker_url: redis://broker.example:6379/0
         result_backend: redis://broker.example:6379/1   # default: a Redis broker_url
         key_file: secrets/broker.key      # relative to corral.yml
         visibility_timeout: 300           # seconds
         queues: [corral, eu]

A value that cannot be used is a :class:`~corral.errors.UsageError` (exit 5), with
``corral.yml:line:col`` when it comes from that file.

The result backend (where shards' answers and the workers' journal of finished units
are kept) must be Redis: by default the broker itself when it is Redis; with a RabbitMQ
broker it has to be named.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from corral.errors import CorralError, Location, UsageError

__all__ = [
    "DEFAULT_QUEUE",
    "KEY_BYTES",
    "PROJECT_FILE",
    "BrokerSettings",
    "load_settings",
    "parse_key",
    "redacted_url",
]

DEFAULT_QUEUE = "corral"
KEY_BYTES = 32  # AES-256
PROJECT_FILE = "corral.yml"
# Schemes kombu can reach with the celery[redis] extra or its built-in AMQP client.
SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "sentinel", "memory")
# The journal (corral_plugins.celery.journal) writes to the result backend with redis-py.
BACKEND_SCHEMES = ("redis", "rediss", "sentinel")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_KEYS = ("broker_url", "result_backend", "key_file", "visibility_timeout", "queues")
_NO_BROKER_HINT = (
    f"pass --broker URL, set CORRAL_BROKER_URL, or add scale_out: {{broker_url: ...}} to "
    f"{PROJECT_FILE} (for example redis://127.0.0.1:6379/0)"
)
_KEY_HINT = "make one with 'corral worker --new-key' and give the same key to every worker"


@dataclass(frozen=True)
class BrokerSettings:
    """The broker's URL, the shared key (None when not needed), and queue and timing settings."""

    broker_url: str
    key: bytes | None = None
    # None: the broker's URL (what listing workers, which needs no backend, gets for AMQP).
    result_backend: str | None = None
    visibility_timeout: float = 300.0
    connect_timeout: float = 5.0
    queues: tuple[str, ...] = (DEFAULT_QUEUE,)


def parse_key(text: str, where: str, location: Location | None = None) -> bytes:
    """The 32-byte key in ``text`` (urlsafe base64); UsageError naming ``where`` if not."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise UsageError(
            f"{where} is not a broker key (urlsafe base64 of {KEY_BYTES} bytes)",
            hint=_KEY_HINT,
            location=location,
        )
    return key


def load_settings(
    environ: Mapping[str, str],
    *,
    broker_url: str | None = None,
    queues: Sequence[str] = (),
    need_key: bool = True,
    cwd: Path | None = None,
) -> BrokerSettings:
    """Settings from the command line's values, then ``environ``, then ``corral.yml``.

    ``need_key`` makes a missing key an error (what runs shards needs it; listing
    workers does not).
    """
    project = _ProjectFile.read((cwd or Path.cwd()) / PROJECT_FILE)
    url = broker_url or environ.get("CORRAL_BROKER_URL") or project.broker_url()
    if not url:
        raise UsageError("no broker URL", hint=_NO_BROKER_HINT)
    from_file = url == project.value("broker_url")
    _check_url(url, project.location_of("broker_url") if from_file else None)
    key = _key(environ, project)
    if key is None and need_key:
        raise UsageError(
            "no broker key: payloads on the broker are sealed with a shared key",
            hint=f"set CORRAL_BROKER_KEY or CORRAL_BROKER_KEY_FILE, or key_file in "
            f"{PROJECT_FILE}'s scale_out; {_KEY_HINT}",
        )
    backend = _result_backend(url, environ, project, need=need_key)
    chosen = tuple(queues) or project.queues() or (DEFAULT_QUEUE,)
    for name in chosen:
        _check_queue(name)
    return BrokerSettings(
        broker_url=url,
        key=key,
        result_backend=backend,
        visibility_timeout=project.visibility_timeout(),
        queues=chosen,
    )


def _check_url(url: str, location: Location | None) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise UsageError(
            f"broker URL {redacted_url(url)!r} is not one corral can use",
            hint=f"use one of the schemes {', '.join(SCHEMES)}, for example "
            "redis://127.0.0.1:6379/0",
            location=location,
        )


def _result_backend(
    broker: str, environ: Mapping[str, str], project: _ProjectFile, *, need: bool
) -> str | None:
    """``CORRAL_RESULT_BACKEND``, else ``scale_out.result_backend``, else a Redis broker's URL.

    ``need``: running shards needs one (the journal is in it); listing workers does not.
    """
    url = environ.get("CORRAL_RESULT_BACKEND") or project.string("result_backend")
    location = None
    if not environ.get("CORRAL_RESULT_BACKEND") and url:
        location = project.location_of("result_backend")
    if not url:
        if urlsplit(broker).scheme in BACKEND_SCHEMES or not need:
            return None
        raise UsageError(
            f"broker {redacted_url(broker)} is not Redis, and the workers' journal needs a "
            "Redis result backend",
            hint="set CORRAL_RESULT_BACKEND or scale_out.result_backend in "
            f"{PROJECT_FILE}, for example redis://127.0.0.1:6379/1 (docs/scale-out.md)",
        )
    if urlsplit(url).scheme not in BACKEND_SCHEMES:
        raise UsageError(
            f"result backend {redacted_url(url)!r} is not Redis",
            hint=f"use one of the schemes {', '.join(BACKEND_SCHEMES)}, for example "
            "redis://127.0.0.1:6379/1: the workers' journal is kept there",
            location=location,
        )
    return url


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _check_queue(name: Any, location: Location | None = None) -> None:
    if not isinstance(name, str) or not _QUEUE_NAME.fullmatch(name):
        raise UsageError(
            f"queue name {name!r} is not usable",
            hint="use letters, digits, '-', '_' and '.', for example 'eu' or 'dc-paris'",
            location=location,
        )


def _key(environ: Mapping[str, str], project: _ProjectFile) -> bytes | None:
    if environ.get("CORRAL_BROKER_KEY"):
        return parse_key(environ["CORRAL_BROKER_KEY"], "CORRAL_BROKER_KEY")
    if environ.get("CORRAL_BROKER_KEY_FILE"):
        path = Path(environ["CORRAL_BROKER_KEY_FILE"]).expanduser()
        return parse_key(_read_key_file(path, "CORRAL_BROKER_KEY_FILE"), str(path))
    return project.key()


def _read_key_file(path: Path, named_by: str, location: Location | None = None) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise UsageError(
            f"cannot read the broker key file {path} ({named_by}): {exc.strerror or exc}",
            hint=_KEY_HINT,
            location=location,
        ) from None


class _ProjectFile:
    """The ``scale_out:`` mapping of ``corral.yml`` (empty when there is no file)."""

    def __init__(self, path: Path, section: Mapping[str, Any], mark: Location | None) -> None:
        self.path = path
        self.section = section
        self.mark = mark

    @classmethod
    def read(cls, path: Path) -> _ProjectFile:
        if not path.is_file():
            return cls(path, {}, None)
        from corral.playbook.yaml.load import load_yaml_file

        try:
            data = load_yaml_file(path, display_name=PROJECT_FILE)
        except CorralError as exc:  # a YAML error is a setting the command cannot use
            raise UsageError(exc.message, hint=exc.hint, location=exc.location) from None
        _need_mapping(data, "the file", Location(PROJECT_FILE, 1, 1))
        if not data or "scale_out" not in data:
            return cls(path, {}, None)
        section = data["scale_out"]
        where = data.key_marks.get("scale_out") if hasattr(data, "key_marks") else None
        _need_mapping(section, "scale_out", where)
        if not section:
            return cls(path, {}, where)
        for key in section:
            if key not in _KEYS:
                raise UsageError(
                    f"unknown scale_out setting {key!r}",
                    hint=f"scale_out takes {', '.join(_KEYS)}",
                    location=section.key_marks.get(key),
                )
        return cls(path, section, where)

    def value(self, key: str) -> Any:
        return self.section.get(key)

    def location_of(self, key: str) -> Location | None:
        marks = getattr(self.section, "key_marks", {})
        return marks.get(key, self.mark)

    def broker_url(self) -> str | None:
        return self.string("broker_url")

    def string(self, key: str) -> str | None:
        url = self.value(key)
        if url is not None and not isinstance(url, str):
            raise UsageError(f"scale_out.{key} must be a string (a URL)",
                             location=self.location_of(key))  # fmt: skip
        return url

    def key(self) -> bytes | None:
        name = self.value("key_file")
        if name is None:
            return None
        where = self.location_of("key_file")
        if not isinstance(name, str):
            raise UsageError("scale_out.key_file must be a path", location=where)
        path = (self.path.parent / Path(name).expanduser()).resolve()
        return parse_key(_read_key_file(path, "scale_out.key_file", where), str(path), where)

    def visibility_timeout(self) -> float:
        value = self.value("visibility_timeout")
        if value is None:
            return BrokerSettings.visibility_timeout
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise UsageError(
                f"scale_out.visibility_timeout must be a number of seconds, not {value!r}",
                hint="longer than the longest shard takes, for example 300",
                location=self.location_of("visibility_timeout"),
            )
        return float(value)

    def queues(self) -> tuple[str, ...]:
        value = self.value("queues")
        if value is None:
            return ()
        where = self.location_of("queues")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise UsageError("scale_out.queues must be a list of queue names", location=where)
        marks = getattr(value, "item_marks", [])
        for index, name in enumerate(value):
            _check_queue(name, marks[index] if index < len(marks) else where)
        return tuple(value)


def _need_mapping(value: Any, what: str, where: Location | None) -> None:
    if value is not None and not isinstance(value, dict):
        raise UsageError(
            f"{what} in {PROJECT_FILE} must be a mapping",
            hint="scale_out: {broker_url: redis://127.0.0.1:6379/0, key_file: broker.key}",
            location=where,
        )

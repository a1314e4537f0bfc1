"""What a ``docker.container`` task asks for: its schema, and its arguments as a
:class:`ContainerSpec`. Parsing is pure (``parse_port``, ``parse_volume``,
:func:`container_spec`), tested on its own.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corral import StepFailed

__all__ = ["CONTAINER_SCHEMA", "ContainerSpec", "container_spec", "parse_port", "parse_volume"]

_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

_COMMAND: dict[str, Any] = {"oneOf": [{"type": "string"}, _STRINGS]}

_DURATION: dict[str, Any] = {"type": "number", "minimum": 0}

_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean"]}

CONTAINER_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "The container's name."},
        "state": {
            "enum": ["started", "stopped", "absent", "restarted"],
            "default": "started",
            "description": "`started` (created if missing, and running), `stopped` (exists, "
            "not running), `absent` (stopped and removed), `restarted` (running, and "
            "restarted if it already was).",
        },
        "image": {
            "type": "string",
            "description": "The image to run (`name:tag` or an id). Needed to create the "
            "container; when the container runs another image id, it is recreated.",
        },
        "command": {
            **_COMMAND,
            "description": "The command (the image's `CMD` by default): a list, or a string "
            "split as a shell would split it (no shell runs it).",
        },
        "entrypoint": {**_COMMAND, "description": "Replaces the image's `ENTRYPOINT`."},
        "env": {
            "type": "object",
            "additionalProperties": _SCALAR,
            "description": "Environment variables, added to the image's.",
        },
        "ports": {
            "type": "array",
            "items": {"type": ["string", "integer"]},
            "description": "Published ports as `docker run -p` writes them: `8080:80`, "
            "`127.0.0.1:8080:80/udp`, or `80` (a random host port).",
        },
        "volumes": {
            **_STRINGS,
            "description": "Mounts as `docker run -v` writes them: `/srv/data:/data`, "
            "`/etc/app:/etc/app:ro`, `named-volume:/var/lib/app`.",
        },
        "restart_policy": {
            "enum": ["no", "always", "on-failure", "unless-stopped"],
            "default": "no",
            "description": "When Docker restarts the container after it exits.",
        },
        "restart_retries": {
            "type": "integer",
            "minimum": 0,
            "description": "With `on-failure`: how many restarts at most (0 = no limit).",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Labels to set; labels not named here are left alone.",
        },
        "network_mode": {
            "type": "string",
            "description": "`bridge`, `host`, `none`, `container:<name>` or a network's name.",
        },
        "user": {"type": "string", "description": "The user (name or uid[:gid]) to run as."},
        "working_dir": {"type": "string", "description": "The working directory."},
        "healthcheck": {
            "type": "object",
            "additionalProperties": False,
            "required": ["test"],
            "properties": {
                "test": {**_COMMAND, "description": "a command list, or a shell line"},
                "interval": {**_DURATION, "description": "seconds between checks"},
                "timeout": {**_DURATION, "description": "seconds before a check fails"},
                "retries": {"type": "integer", "minimum": 0, "description": "failures in a row"},
                "start_period": {**_DURATION, "description": "seconds of grace at start"},
            },
            "description": "The health check: `test` (a command list, or a shell line), and "
            "`interval`, `timeout`, `start_period` in seconds, `retries`.",
        },
        "wait_healthy": {
            "type": "boolean",
            "default": False,
            "description": "After starting, wait until the container's healthcheck reports "
            "`healthy`; fail if it reports `unhealthy`, exits, or `wait_timeout` passes.",
        },
        "wait_timeout": {
            **_DURATION,
            "default": 60,
            "description": "Seconds to wait for `healthy`.",
        },
        "stop_timeout": {
            "type": "integer",
            "minimum": 0,
            "default": 10,
            "description": "Seconds between SIGTERM and SIGKILL when stopping.",
        },
        "pull": {
            "enum": ["missing", "always", "never"],
            "default": "missing",
            "description": "When to pull `image` from its registry: only when it is not "
            "present, every time, or never (a missing image fails the step).",
        },
        "recreate": {
            "type": "boolean",
            "default": False,
            "description": "Recreate the container even when it matches.",
        },
        "docker_host": {
            "type": "string",
            "description": "The daemon, instead of the host's `docker_host` variable.",
        },
    },
}


@dataclass(frozen=True)
class ContainerSpec:
    """The container a task asks for, normalised for comparison with ``docker inspect``."""

    name: str
    image: str | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ports: frozenset[tuple[str, str, str]] = frozenset()
    volumes: frozenset[tuple[str, str, str]] = frozenset()
    restart: tuple[str, int] = ("no", 0)
    labels: Mapping[str, str] = field(default_factory=dict)
    network_mode: str | None = None
    user: str | None = None
    working_dir: str | None = None
    healthcheck: Mapping[str, Any] | None = None


def parse_port(value: str | int) -> tuple[str, str, str]:
    """``"127.0.0.1:8080:80/udp"`` -> ``("80/udp", "127.0.0.1", "8080")``; ValueError if bad."""
    text = str(value).strip()
    parts = text.rsplit(":", 2)
    container_port = parts[-1]
    host_port = parts[-2] if len(parts) > 1 else ""
    host_ip = parts[0].strip("[]") if len(parts) > 2 else ""
    number, _, protocol = container_port.partition("/")
    if not number.isdigit() or (host_port and not host_port.isdigit()):
        raise ValueError(f"invalid port {text!r}: use [ip:][host_port:]container_port[/protocol]")
    if protocol not in ("", "tcp", "udp", "sctp"):
        raise ValueError(f"invalid port {text!r}: the protocol is tcp, udp or sctp")
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise ValueError(f"invalid port {text!r}: {host_ip!r} is not an IP address") from None
    return f"{number}/{protocol or 'tcp'}", host_ip, host_port


def parse_volume(text: str) -> tuple[str, str, str]:
    """``"/srv:/data:ro"`` -> ``("/srv", "/data", "ro")``; the mode defaults to ``rw``."""
    parts = text.split(":")
    if len(parts) == 2:
        return parts[0], parts[1], "rw"
    if len(parts) == 3 and parts[0] and parts[1]:
        return parts[0], parts[1], parts[2]
    raise ValueError(f"invalid volume {text!r}: use source:destination[:mode]")


def _argv(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(shlex.split(value)) if isinstance(value, str) else tuple(str(v) for v in value)


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _nanoseconds(seconds: Any) -> int:
    return round(float(seconds) * 1_000_000_000)


def _healthcheck(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The healthcheck in Docker's own shape (``Test``, durations in nanoseconds)."""
    if value is None:
        return None
    test = value["test"]
    if isinstance(test, str):
        argv = ["CMD-SHELL", test]
    elif test and test[0] in ("CMD", "CMD-SHELL", "NONE"):
        argv = [str(t) for t in test]
    else:
        argv = ["CMD", *(str(t) for t in test)]
    out: dict[str, Any] = {"Test": argv}
    for key, name in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start_period", "StartPeriod"),
    ):
        if key in value:
            out[name] = _nanoseconds(value[key])
    if "retries" in value:
        out["Retries"] = int(value["retries"])
    return out


def container_spec(args: Mapping[str, Any]) -> ContainerSpec:
    """The normalised spec of a task's arguments; StepFailed on a malformed port or volume."""
    try:
        ports = frozenset(parse_port(p) for p in args.get("ports", ()))
        volumes = frozenset(parse_volume(v) for v in args.get("volumes", ()))
    except ValueError as exc:
        raise StepFailed(str(exc)) from exc
    policy = str(args.get("restart_policy", "no"))
    retries = int(args.get("restart_retries", 0)) if policy == "on-failure" else 0
    return ContainerSpec(
        name=str(args["name"]),
        image=args.get("image"),
        command=_argv(args.get("command")),
        entrypoint=_argv(args.get("entrypoint")),
        env={str(k): _env_text(v) for k, v in (args.get("env") or {}).items()},
        ports=ports,
        volumes=volumes,
        restart=(policy, retries),
        labels={str(k): str(v) for k, v in (args.get("labels") or {}).items()},
        network_mode=args.get("network_mode"),
        user=args.get("user"),
        working_dir=args.get("working_dir"),
        healthcheck=_healthcheck(args.get("healthcheck")),
    )

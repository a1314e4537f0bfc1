"""The ``docker.container`` step: a named container in the state the task describes.

The step compares the container that exists with the one asked for (image id,
command, entrypoint, environment, ports, volumes, restart policy, labels, network
mode, user, working directory, healthcheck) and recreates it only when something
differs; otherwise it only starts, stops or restarts it as ``state`` requires, and
says why nothing changed. The comparison is a pure function of the two ``inspect``
documents (:func:`differences`), tested on its own.
"""

from __future__ import annotations

import ipaddress
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.docker.api import api_error, daemon_variables, docker_client

__all__ = [
    "CONTAINER_SCHEMA",
    "ContainerSpec",
    "container",
    "container_spec",
    "differences",
    "parse_port",
    "parse_volume",
]

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


# -- comparing with what runs -------------------------------------------------------------


def _env_map(entries: Sequence[str] | None) -> dict[str, str]:
    pairs = (entry.partition("=") for entry in entries or ())
    return {key: value for key, _, value in pairs}


def _bindings(host_config: Mapping[str, Any]) -> frozenset[tuple[str, str, str]]:
    found = set()
    for port, bindings in (host_config.get("PortBindings") or {}).items():
        for binding in bindings or [{}]:
            found.add((port, binding.get("HostIp") or "", binding.get("HostPort") or ""))
    return frozenset(found)


def differences(
    spec: ContainerSpec, container: Mapping[str, Any], image: Mapping[str, Any]
) -> list[str]:
    """What differs between the asked-for container and one that exists, by setting name.

    ``container`` and ``image`` are ``docker inspect`` of the container and of the
    spec's image. Settings the task leaves out are expected as the image has them.
    """
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    image_config = image.get("Config") or {}
    entrypoint, command = _expected_argv(spec, image_config)
    labels = config.get("Labels") or {}
    checks = {
        "image": container.get("Image") != image.get("Id"),
        "entrypoint": entrypoint != list(config.get("Entrypoint") or []),
        "command": command != list(config.get("Cmd") or []),
        "env": _env_differs(spec, config, image_config),
        "ports": spec.ports != _bindings(host),
        "volumes": spec.volumes != frozenset(parse_volume(b) for b in host.get("Binds") or ()),
        "restart_policy": spec.restart != _restart(host),
        "labels": any(labels.get(k) != v for k, v in spec.labels.items()),
        "network_mode": _differs(spec.network_mode, host.get("NetworkMode")),
        "user": _differs(spec.user, config.get("User")),
        "working_dir": _differs(spec.working_dir, config.get("WorkingDir")),
        "healthcheck": _healthcheck_differs(spec, config),
    }
    return [name for name, differs in checks.items() if differs]


def _expected_argv(
    spec: ContainerSpec, image_config: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """The entrypoint and command the container should have."""
    entrypoint = spec.entrypoint if spec.entrypoint is not None else image_config.get("Entrypoint")
    command = spec.command
    # As Docker does: a new entrypoint drops the image's CMD unless a command is given.
    if command is None and spec.entrypoint is None:
        command = image_config.get("Cmd")
    return list(entrypoint or []), list(command or [])


def _env_differs(
    spec: ContainerSpec, config: Mapping[str, Any], image_config: Mapping[str, Any]
) -> bool:
    expected = {**_env_map(image_config.get("Env")), **spec.env}
    actual = _env_map(config.get("Env"))
    if "PATH" not in expected:
        actual.pop("PATH", None)  # Docker adds a default PATH of its own
    return actual != expected


def _restart(host: Mapping[str, Any]) -> tuple[str, int]:
    policy = host.get("RestartPolicy") or {}
    return policy.get("Name") or "no", int(policy.get("MaximumRetryCount") or 0)


def _differs(wanted: str | None, actual: str | None) -> bool:
    return wanted is not None and wanted != (actual or "")


def _healthcheck_differs(spec: ContainerSpec, config: Mapping[str, Any]) -> bool:
    if spec.healthcheck is None:
        return False
    current = config.get("Healthcheck") or {}
    return any(current.get(k) != v for k, v in spec.healthcheck.items())


def create_arguments(spec: ContainerSpec) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create`` that build ``spec``."""
    ports: dict[str, list[Any]] = {}
    for port, host_ip, host_port in sorted(spec.ports):
        binding: Any = (host_ip, int(host_port)) if host_ip and host_port else (
            (host_ip,) if host_ip else (int(host_port) if host_port else None)
        )  # fmt: skip
        ports.setdefault(port, []).append(binding)
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "command": list(spec.command) if spec.command is not None else None,
        "environment": dict(spec.env),
        "ports": {port: b[0] if len(b) == 1 else b for port, b in ports.items()},
        "volumes": [f"{src}:{dst}:{mode}" for src, dst, mode in sorted(spec.volumes)],
        "restart_policy": {"Name": spec.restart[0], "MaximumRetryCount": spec.restart[1]},
        "labels": dict(spec.labels),
        "detach": True,
    }
    optional = {
        "entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "network_mode": spec.network_mode,
        "user": spec.user,
        "working_dir": spec.working_dir,
        "healthcheck": dict(spec.healthcheck) if spec.healthcheck is not None else None,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    return kwargs


# -- the step ----------------------------------------------------------------------------------


def container(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Bring a named container to ``state``, recreating it only when its settings differ."""
    from docker.errors import DockerException

    spec = container_spec(args)
    client = docker_client(daemon_variables(ctx), override=args.get("docker_host"))
    try:
        return _converge(ctx, client, spec, args)
    except DockerException as exc:
        return StepResult(failed=True, msg=f"container {spec.name}: {api_error(exc)}")
    finally:
        client.close()


def _converge(
    ctx: StepContext, client: Any, spec: ContainerSpec, args: Mapping[str, Any]
) -> StepResult:
    from docker.errors import NotFound

    state = str(args.get("state", "started"))
    try:
        existing: Any = client.containers.get(spec.name)
    except NotFound:
        existing = None
    actions: list[str] = []
    data: dict[str, Any] = {"actions": actions, "differences": []}
    if state == "absent":
        if existing is None:
            return StepResult(msg=f"container {spec.name} does not exist", data=data)
        actions.append("removed")
        if not ctx.check_mode:
            _remove(existing, int(args.get("stop_timeout", 10)))
    else:
        fresh = False
        if spec.image is not None:
            existing, fresh = _ensure_container(ctx, client, spec, existing, args=args, data=data)
        elif existing is None:
            raise StepFailed(
                f"container {spec.name} does not exist and no image was given to create it",
                hint="add image: to the task",
            )
        _reach_state(ctx, existing, fresh, args, actions)
        if existing is not None and not ctx.check_mode:
            existing.reload()
            data["container"] = _summary(existing)
    if not actions:
        status = data.get("container", {}).get("status", "")
        return StepResult(msg=f"container {spec.name} already as requested ({status})", data=data)
    prefix = "would be " if ctx.check_mode else ""
    msg = f"container {spec.name} {prefix}{', '.join(actions)}"
    return StepResult(changed=True, msg=msg, data=data)


def _ensure_container(
    ctx: StepContext,
    client: Any,
    spec: ContainerSpec,
    existing: Any,
    *,
    args: Mapping[str, Any],
    data: dict[str, Any],
) -> tuple[Any, bool]:
    """The container, (re)created when missing or different; and whether it is new."""
    actions: list[str] = data["actions"]
    image = _image(
        client, str(spec.image), str(args.get("pull", "missing")), ctx.check_mode, actions
    )
    if existing is not None:
        # In check mode an image still to be pulled cannot be compared: assume it differs.
        diffs = differences(spec, existing.attrs, image.attrs) if image is not None else ["image"]
        if args.get("recreate") and not diffs:
            diffs = ["recreate requested"]
        data["differences"] = diffs
        if not diffs:
            return existing, False
        actions.append(f"recreated ({', '.join(diffs)})")
        if not ctx.check_mode:
            _remove(existing, int(args.get("stop_timeout", 10)))
    else:
        actions.append("created")
    if ctx.check_mode:
        return None, True
    return client.containers.create(**create_arguments(spec)), True


def _reach_state(
    ctx: StepContext, existing: Any, fresh: bool, args: Mapping[str, Any], actions: list[str]
) -> None:
    """Start, stop or restart the container as ``state`` asks; wait for health if asked."""
    state = str(args.get("state", "started"))
    stop_timeout = int(args.get("stop_timeout", 10))
    running = not fresh and existing is not None and existing.status in ("running", "restarting")
    act = not ctx.check_mode and existing is not None
    if state == "stopped":
        if running:
            actions.append("stopped")
            if act:
                existing.stop(timeout=stop_timeout)
        return
    if fresh or not running:
        actions.append("started")
        if act:
            existing.start()
    elif state == "restarted":
        actions.append("restarted")
        if act:
            existing.restart(timeout=stop_timeout)
    if args.get("wait_healthy") and act:
        _wait_healthy(ctx, existing, float(args.get("wait_timeout", 60)))


def _image(client: Any, name: str, pull: str, check_mode: bool, actions: list[str]) -> Any:
    """The image to run, pulled when ``pull`` says so; None in check mode when it would be."""
    from docker.errors import ImageNotFound

    if pull != "always":
        try:
            return client.images.get(name)
        except ImageNotFound:
            if pull == "never":
                raise StepFailed(f"image {name} is not present and pull is never") from None
    actions.append(f"pulled {name}")
    if check_mode:
        return None
    return client.images.pull(name)


def _remove(existing: Any, stop_timeout: int) -> None:
    if existing.status in ("running", "restarting", "paused"):
        existing.stop(timeout=stop_timeout)
    existing.remove(v=False, force=True)


def _wait_healthy(ctx: StepContext, existing: Any, timeout: float) -> None:
    """Wait for the healthcheck to say ``healthy``; StepFailed when it cannot or does not."""
    deadline = time.monotonic() + timeout
    while True:
        existing.reload()
        health = (existing.attrs.get("State") or {}).get("Health")
        if health is None:
            raise StepFailed(
                f"container {existing.name} has no healthcheck to wait for",
                hint="add healthcheck: to the task, or drop wait_healthy",
            )
        status = health.get("Status")
        if status == "healthy":
            return
        if status == "unhealthy" or existing.status not in ("running", "restarting"):
            log = (health.get("Log") or [{}])[-1].get("Output", "").strip()
            raise StepFailed(
                f"container {existing.name} is {status or existing.status}: {log}".rstrip(": ")
            )
        if time.monotonic() >= deadline:
            raise StepFailed(
                f"container {existing.name} not healthy after {timeout:g} seconds ({status})"
            )
        if ctx.cancelled.wait(0.25):
            raise StepFailed("stopped while waiting for the container to be healthy")


def _summary(existing: Any) -> dict[str, Any]:
    state = existing.attrs.get("State") or {}
    return {
        "id": existing.id,
        "name": existing.name,
        "image": existing.attrs.get("Image"),
        "status": existing.status,
        "health": (state.get("Health") or {}).get("Status"),
        "exit_code": state.get("ExitCode"),
    }

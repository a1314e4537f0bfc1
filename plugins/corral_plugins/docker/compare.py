"""Comparing a :class:`~corral_plugins.docker.spec.ContainerSpec` with the container that runs.

:func:`differences` is a pure function of the spec and the two ``inspect`` documents (the
container's and its image's); :func:`create_arguments` is what the Docker SDK is given to
create the container anew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral_plugins.docker.spec import ContainerSpec, parse_volume

__all__ = ["create_arguments", "differences"]


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

"""The ``docker.container`` step: a named container in the state the task describes.

The step compares the container that exists with the one asked for (image id,
command, entrypoint, environment, ports, volumes, restart policy, labels, network
mode, user, working directory, healthcheck) and recreates it only when something
differs; otherwise it only starts, stops or restarts it as ``state`` requires, and
says why nothing changed. What the task asks for is :mod:`.spec`; the comparison,
a pure function of the two ``inspect`` documents tested on its own, is :mod:`.compare`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.docker.api import api_error, daemon_variables, docker_client
from corral_plugins.docker.compare import create_arguments, differences
from corral_plugins.docker.spec import ContainerSpec, container_spec

__all__ = ["container"]


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

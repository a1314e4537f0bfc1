"""Step types for Docker, through the docker SDK: ``docker.container``, ``docker.image``,
``docker.exec`` and ``docker.info``.

Every step talks to the Docker API from the controller (``on="controller"``); the
daemon is chosen per inventory host by its ``docker_host`` variable (unix socket,
``tcp://`` or ``ssh://``), else ``DOCKER_HOST``, else the local socket. To run
corral's other steps inside a container, use the ``docker`` connection
(:mod:`corral_plugins.docker.connection`).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepFailed, StepResult, StepType
from corral_plugins.docker.api import (
    DEFAULT_TIMEOUT,
    api_error,
    daemon_name,
    daemon_variables,
    docker_client,
    exec_command,
)
from corral_plugins.docker.container import container
from corral_plugins.docker.spec import CONTAINER_SCHEMA

__all__ = ["EXEC_SCHEMA", "IMAGE_SCHEMA", "INFO_SCHEMA", "docker_exec", "image", "info"]

# A build reads nothing from the daemon while a slow RUN step works.
DEFAULT_BUILD_TIMEOUT = 600.0

_DOCKER_HOST: dict[str, Any] = {
    "type": "string",
    "description": "The daemon, instead of the host's `docker_host` variable.",
}

IMAGE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "The image, as `name:tag`."},
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "`present`: built (with `build`) or pulled when missing; "
            "`absent`: the tag removed.",
        },
        "build": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "description": "the build context directory"},
                "dockerfile": {"type": "string", "description": "relative to `path`"},
                "args": {"type": "object", "description": "build arguments (`--build-arg`)"},
                "target": {"type": "string", "description": "the stage to build"},
                "nocache": {"type": "boolean", "description": "do not use the build cache"},
            },
            "description": "Build the image from a context directory on the controller "
            "(looked up in `files/` beside the task file, then beside it): `path`, and "
            "optionally `dockerfile`, `args`, `target`, `nocache`. The build runs every time "
            "(Docker's cache makes an unchanged build quick); `changed` says whether the "
            "image id moved.",
        },
        "pull": {
            "type": "boolean",
            "default": True,
            "description": "Without `build`: pull the image when it is not present "
            "(with `false`, a missing image fails the step).",
        },
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "More names (`repo:tag`) to give the image.",
        },
        "force": {
            "type": "boolean",
            "default": False,
            "description": "With `absent`: remove the image even if containers use it.",
        },
        "docker_host": _DOCKER_HOST,
    },
}

EXEC_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["container", "command"],
    "properties": {
        "container": {"type": "string", "minLength": 1, "description": "The running container."},
        "command": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string"}},
            ],
            "description": "The command: a list, or a string split as a shell would split "
            "it. No shell runs it; use `[sh, -c, '...']` for one.",
        },
        "stdin": {"type": "string", "description": "Text fed to the command's standard input."},
        "env": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Environment variables for the command.",
        },
        "workdir": {"type": "string", "description": "The directory to run it in."},
        "user": {"type": "string", "description": "The user to run it as (name or uid)."},
        "docker_host": _DOCKER_HOST,
    },
}

INFO_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "containers": {
            "type": "boolean",
            "default": False,
            "description": "Also list the containers (running or not).",
        },
        "images": {"type": "boolean", "default": False, "description": "Also list the images."},
        "docker_host": _DOCKER_HOST,
    },
}


# -- docker.image ----------------------------------------------------------------------


def image(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Build, pull, tag or remove an image."""
    from docker.errors import DockerException

    name = str(args["name"])
    timeout = ctx.timeout or (DEFAULT_BUILD_TIMEOUT if "build" in args else None)
    client = docker_client(daemon_variables(ctx), override=args.get("docker_host"), timeout=timeout)
    try:
        if args.get("state", "present") == "absent":
            return _remove_image(ctx, client, name, bool(args.get("force")))
        return _present_image(ctx, client, name, args)
    except DockerException as exc:
        return StepResult(failed=True, msg=f"image {name}: {api_error(exc)}")
    finally:
        client.close()


def _present_image(ctx: StepContext, client: Any, name: str, args: Mapping[str, Any]) -> StepResult:
    from docker.errors import BuildError
    from docker.utils import parse_repository_tag

    before = _image_id(client, name)
    actions: list[str] = []
    if "build" in args:
        if ctx.check_mode:
            verb = "would build" if before is None else "would rebuild (if the context changed)"
            return StepResult(changed=before is None, msg=f"{verb} {name}")
        try:
            built, log = _build(ctx, client, name, args["build"])
        except BuildError as exc:
            log = _build_log(exc.build_log)
            return StepResult(failed=True, msg=f"build of {name} failed: {exc.msg}", stdout=log)
        if built.id != before:
            actions.append("built" if before is None else "rebuilt")
        current = built
    elif before is None:
        if not args.get("pull", True):
            return StepResult(failed=True, msg=f"image {name} is not present and pull is false")
        if ctx.check_mode:
            return StepResult(changed=True, msg=f"would pull {name}")
        current, log = client.images.pull(name), ""
        actions.append("pulled")
    else:
        current, log = client.images.get(name), ""
    for tag in args.get("tags", ()):
        if _image_id(client, tag) != current.id:
            actions.append(f"tagged {tag}")
            if not ctx.check_mode:
                current.tag(*parse_repository_tag(tag))
    if not ctx.check_mode:
        current.reload()
    data = {"image": {"id": current.id, "tags": list(current.tags)}}
    msg = f"{name}: {', '.join(actions)}" if actions else f"{name} is present and unchanged"
    return StepResult(changed=bool(actions), msg=msg, stdout=log or None, data=data)


def _build(ctx: StepContext, client: Any, name: str, build: Mapping[str, Any]) -> tuple[Any, str]:
    context = ctx.find_file(str(build["path"]), "files")
    if context is None or not context.is_dir():
        raise StepFailed(f"build context {build['path']!r} not found on the controller")
    options = {
        "path": str(context),
        "tag": name,
        "rm": True,
        "dockerfile": build.get("dockerfile"),
        "buildargs": {str(k): str(v) for k, v in (build.get("args") or {}).items()} or None,
        "target": build.get("target"),
        "nocache": bool(build.get("nocache", False)),
    }
    built, chunks = client.images.build(**{k: v for k, v in options.items() if v is not None})
    return built, _build_log(chunks)


def _build_log(chunks: Any) -> str:
    return "".join(str(chunk.get("stream", "")) for chunk in chunks if isinstance(chunk, dict))


def _remove_image(ctx: StepContext, client: Any, name: str, force: bool) -> StepResult:
    if _image_id(client, name) is None:
        return StepResult(msg=f"image {name} is not present")
    if not ctx.check_mode:
        client.images.remove(name, force=force)
    return StepResult(changed=True, msg=f"{'would remove' if ctx.check_mode else 'removed'} {name}")


def _image_id(client: Any, name: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return str(client.images.get(name).id)
    except ImageNotFound:
        return None


# -- docker.exec -----------------------------------------------------------------------


def docker_exec(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run a command in a running container, like ``docker exec``."""
    from docker.errors import DockerException

    command = args["command"]
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    stdin = args.get("stdin")
    variables = daemon_variables(ctx)
    client = docker_client(variables, override=args.get("docker_host"), timeout=ctx.timeout)
    try:
        outcome = exec_command(
            client,
            str(args["container"]),
            argv,
            stdin=stdin.encode() if stdin is not None else None,
            env={str(k): str(v) for k, v in (args.get("env") or {}).items()},
            workdir=args.get("workdir"),
            user=args.get("user"),
            timeout=ctx.timeout or DEFAULT_TIMEOUT,
        )
    except DockerException as exc:
        return StepResult(failed=True, msg=f"exec in {args['container']}: {api_error(exc)}")
    finally:
        client.close()
    stdout = outcome.stdout.decode("utf-8", errors="replace")
    stderr = outcome.stderr.decode("utf-8", errors="replace")
    data = {"cmd": argv}
    if outcome.timed_out:
        limit = ctx.timeout or DEFAULT_TIMEOUT
        msg = f"timed out after {limit:g} seconds (the command may still run in the container)"
        return StepResult(
            failed=True,
            timed_out=True,
            changed=True,
            msg=msg,
            stdout=stdout,
            stderr=stderr,
            data=data,
        )
    rc = outcome.rc if outcome.rc is not None else -1
    return StepResult(
        changed=True,
        failed=rc != 0,
        msg="non-zero return code" if rc != 0 else "",
        rc=rc,
        stdout=stdout,
        stderr=stderr,
        data=data,
    )


# -- docker.info -----------------------------------------------------------------------


def info(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Describe the daemon, and optionally list its containers and images."""
    from docker.errors import DockerException

    variables = daemon_variables(ctx)
    daemon = daemon_name(variables, args.get("docker_host"))
    client = docker_client(variables, override=args.get("docker_host"), timeout=ctx.timeout)
    try:
        facts = client.info()
        version = client.version()
        data: dict[str, Any] = {
            "daemon": daemon,
            "host": {
                "name": facts.get("Name"),
                "server_version": version.get("Version"),
                "api_version": version.get("ApiVersion"),
                "os": facts.get("OperatingSystem"),
                "architecture": facts.get("Architecture"),
                "storage_driver": facts.get("Driver"),
                "containers": facts.get("Containers"),
                "containers_running": facts.get("ContainersRunning"),
                "containers_stopped": facts.get("ContainersStopped"),
                "images": facts.get("Images"),
            },
        }
        if args.get("containers"):
            data["containers"] = [
                {"id": c.id, "name": c.name, "image": c.attrs.get("Image"), "status": c.status}
                for c in client.containers.list(all=True)
            ]
        if args.get("images"):
            data["images"] = [
                {"id": i.id, "tags": list(i.tags), "size": i.attrs.get("Size")}
                for i in client.images.list()
            ]
    except DockerException as exc:
        return StepResult(failed=True, msg=f"{daemon}: {api_error(exc)}")
    finally:
        client.close()
    return StepResult(data=data)


# -- registration ----------------------------------------------------------------------


def register_steps(register: RegisterStep) -> None:
    """Register the ``docker.*`` steps."""
    register(
        StepType(
            name="docker.container",
            run=container,
            schema=CONTAINER_SCHEMA,
            check_mode=True,
            on="controller",
            description="A named container started, stopped or removed; recreated when it differs.",
        )
    )
    register(
        StepType(
            name="docker.image",
            run=image,
            schema=IMAGE_SCHEMA,
            check_mode=True,
            on="controller",
            description="An image built from a context, pulled, tagged, or removed.",
        )
    )
    register(
        StepType(
            name="docker.exec",
            run=docker_exec,
            schema=EXEC_SCHEMA,
            on="controller",
            description="Run a command in a running container, like docker exec.",
        )
    )
    register(
        StepType(
            name="docker.info",
            run=info,
            schema=INFO_SCHEMA,
            check_mode=True,
            on="controller",
            description="Describe the Docker daemon, and list its containers and images.",
        )
    )

"""The docker.* steps and the docker connection, run by ``corral run`` against a private dockerd."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import dockerd as dockerd_service
import pytest
from dockerd import DockerDaemon
from jsonschema import Draft202012Validator

from corral import ConnectionType, StepType
from corral_plugins import docker as docker_plugin
from corral_plugins.docker.compare import create_arguments, differences
from corral_plugins.docker.spec import ContainerSpec, container_spec, parse_port, parse_volume

dockerd = dockerd_service.dockerd  # the module-scoped daemon fixture

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture
def daemon(dockerd: DockerDaemon) -> DockerDaemon:
    """The module's daemon, with no containers left from an earlier test."""
    dockerd.remove_containers()
    return dockerd


def run(
    project: Any, daemon: DockerDaemon, tasks: str, *args: str, hosts: str = "localhost"
) -> tuple[Any, list]:
    inventory = {
        "all": {
            "hosts": {"localhost": {"ansible_connection": "local"}},
            # A template, as an inventory may hold: steps render it.
            "vars": {"daemon_socket": daemon.url, "docker_host": "{{ daemon_socket }}"},
        }
    }
    project.write("hosts.yml", json.dumps(inventory))
    body = "".join(f"    {line}\n" for line in tasks.strip("\n").splitlines())
    project.write("site.yml", f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n{body}")
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, result.json_lines()


def results(events: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [e["result"] for e in events if e["event"] == "task_result" and e["action"] == action]


def inspect(daemon: DockerDaemon, name: str) -> dict[str, Any] | None:
    client = daemon.client()
    try:
        return dict(client.api.inspect_container(name))
    except Exception:
        return None
    finally:
        client.close()


# -- docker.container ------------------------------------------------------------------


def test_container_lifecycle_is_idempotent(corral_project, daemon, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    web = f"""
- docker.container:
    name: web
    image: {daemon.image}
    command:
      - sh
      - -c
      - "trap 'exit 0' TERM; echo $GREETING > /data/hello; while :; do sleep 60 & wait $!; done"
    env: {{GREETING: "{{{{ greeting }}}}", DEBUG: true}}
    ports: ["127.0.0.1:8080:80", "9000/udp"]
    volumes: ["{data}:/data"]
    restart_policy: unless-stopped
    labels: {{tier: web}}
    stop_timeout: 2
  register: web
"""
    result, events = run(corral_project, daemon, web, "-e", "greeting=hi")
    assert result.exit_code == 0, result.output
    (created,) = results(events, "docker.container")
    assert created["changed"] is True
    assert created["actions"] == ["created", "started"]
    first = inspect(daemon, "web")
    assert first is not None
    assert first["State"]["Running"] is True
    assert {"GREETING=hi", "DEBUG=true"} <= set(first["Config"]["Env"])
    assert first["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert first["HostConfig"]["PortBindings"]["80/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": "8080"}
    ]
    assert first["Config"]["Labels"] == {"tier": "web"}

    result, events = run(corral_project, daemon, web, "-e", "greeting=hi")
    (same,) = results(events, "docker.container")
    assert same["changed"] is False
    assert same["msg"] == "container web already as requested (running)"
    assert inspect(daemon, "web")["Id"] == first["Id"]

    result, events = run(corral_project, daemon, web, "-e", "greeting=hello")
    (recreated,) = results(events, "docker.container")
    assert recreated["actions"] == ["recreated (env)", "started"]
    second = inspect(daemon, "web")
    assert second["Id"] != first["Id"]
    # The new container writes through the bind mount as it starts.
    deadline = time.monotonic() + 60
    while (data / "hello").read_text() != "hello\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (data / "hello").read_text() == "hello\n"

    steps = """
- docker.container: {name: web, state: stopped}
- docker.container: {name: web, state: stopped}
- docker.container: {name: web, state: restarted}
- docker.container: {name: web, state: absent}
- docker.container: {name: web, state: absent}
"""
    result, events = run(corral_project, daemon, steps)
    assert result.exit_code == 0, result.output
    changed = [r["changed"] for r in results(events, "docker.container")]
    assert changed == [True, False, True, True, False]
    assert inspect(daemon, "web") is None


def test_container_check_mode_changes_nothing(corral_project, daemon):
    task = f"- docker.container: {{name: ghost, image: {daemon.image}}}"
    result, events = run(corral_project, daemon, task, "--check")
    assert result.exit_code == 0, result.output
    (planned,) = results(events, "docker.container")
    assert planned["changed"] is True
    assert planned["msg"] == "container ghost would be created, started"
    assert inspect(daemon, "ghost") is None


def test_container_waits_for_health(corral_project, daemon):
    tasks = f"""
- docker.container:
    name: healthy
    image: {daemon.image}
    healthcheck: {{test: [CMD, "true"], interval: 0.2, retries: 1}}
    wait_healthy: true
    wait_timeout: 20
- docker.container:
    name: sick
    image: {daemon.image}
    healthcheck: {{test: "exit 1", interval: 0.2, retries: 1}}
    wait_healthy: true
    wait_timeout: 20
"""
    result, events = run(corral_project, daemon, tasks)
    healthy = results(events, "docker.container")
    assert healthy[0]["container"]["health"] == "healthy"
    assert result.exit_code == 2
    assert healthy[1]["msg"].startswith("container sick is unhealthy")


def test_container_errors_are_results(corral_project, daemon):
    tasks = """
- docker.container: {name: nothing-here, state: started}
  ignore_errors: true
- docker.container: {name: x, image: "corral-test/none:1", pull: never}
  ignore_errors: true
- docker.info: {docker_host: "unix:///nonexistent/docker.sock"}
  ignore_errors: true
"""
    result, events = run(corral_project, daemon, tasks)
    assert result.exit_code == 0, result.output
    missing, no_image = results(events, "docker.container")
    assert (
        missing["msg"]
        == "container nothing-here does not exist and no image was given to create it"
    )
    assert no_image["msg"] == "image corral-test/none:1 is not present and pull is never"
    (unreachable,) = results(events, "docker.info")
    assert unreachable["msg"].startswith(
        "cannot reach the Docker daemon at unix:///nonexistent/docker.sock"
    )


# -- docker.image, docker.exec, docker.info --------------------------------------------


def test_image_build_tag_and_remove(corral_project, daemon):
    corral_project.write("files/app/Dockerfile", f"FROM {daemon.image}\nCOPY motd /etc/motd\n")
    corral_project.write("files/app/motd", "one\n")
    build = """
- docker.image:
    name: corral-test/app:1
    build: {path: app}
    tags: ["corral-test/app:latest"]
  register: img
"""
    result, events = run(corral_project, daemon, build)
    assert result.exit_code == 0, result.output
    (built,) = results(events, "docker.image")
    assert built["msg"] == "corral-test/app:1: built, tagged corral-test/app:latest"
    assert set(built["image"]["tags"]) == {"corral-test/app:1", "corral-test/app:latest"}

    result, events = run(corral_project, daemon, build)
    (cached,) = results(events, "docker.image")
    assert cached["changed"] is False
    assert cached["image"]["id"] == built["image"]["id"]

    corral_project.write("files/app/motd", "two\n")
    result, events = run(corral_project, daemon, build)
    (rebuilt,) = results(events, "docker.image")
    assert rebuilt["changed"] is True
    assert rebuilt["image"]["id"] != built["image"]["id"]

    remove = """
- docker.image: {name: "corral-test/app:1", state: absent}
- docker.image: {name: "corral-test/app:1", state: absent}
- docker.image: {name: "corral-test/app:1", pull: false}
  ignore_errors: true
"""
    result, events = run(corral_project, daemon, remove)
    removed, gone, missing = results(events, "docker.image")
    assert (removed["changed"], gone["changed"]) == (True, False)
    assert missing["msg"] == "image corral-test/app:1 is not present and pull is false"


def test_image_build_failure_shows_the_reason(corral_project, daemon):
    corral_project.write("files/bad/Dockerfile", f'FROM {daemon.image}\nRUN ["false"]\n')
    result, events = run(
        corral_project, daemon, "- docker.image: {name: 'corral-test/bad:1', build: {path: bad}}"
    )
    assert result.exit_code == 2
    (failed,) = results(events, "docker.image")
    assert failed["msg"].startswith("build of corral-test/bad:1 failed:")
    assert "false" in failed["msg"]


def test_exec_and_info(corral_project, daemon):
    client = daemon.client()
    client.containers.run(daemon.image, name="box", detach=True)
    client.close()
    tasks = """
- docker.exec:
    container: box
    command: [sh, -c, 'echo "$A in $(pwd) as $(id -u)"; echo oops >&2']
    env: {A: 1}
    workdir: /tmp
    user: "65534"
- docker.exec: {container: box, command: "tr a-z A-Z", stdin: "shout\\n"}
- docker.exec: {container: box, command: "sh -c 'exit 3'"}
  ignore_errors: true
- docker.exec: {container: box, command: "sleep 20"}
  timeout: 1
  ignore_errors: true
- docker.info: {containers: true, images: true}
"""
    result, events = run(corral_project, daemon, tasks)
    assert result.exit_code == 0, result.output
    env_run, piped, failed, slow = results(events, "docker.exec")
    assert env_run["stdout"] == "1 in /tmp as 65534\n"
    assert env_run["stderr"] == "oops\n"
    assert env_run["rc"] == 0
    assert piped["stdout"] == "SHOUT\n"
    assert failed["rc"] == 3
    assert failed["failed"] is True
    assert slow["timed_out"] is True
    assert slow["msg"].startswith("timed out after 1 seconds")
    (facts,) = results(events, "docker.info")
    assert facts["host"]["storage_driver"] == "vfs"
    assert facts["host"]["containers_running"] == 1
    assert [c["name"] for c in facts["containers"]] == ["box"]
    assert any(daemon.image in i["tags"] for i in facts["images"])


# -- the docker connection -------------------------------------------------------------


def test_steps_run_inside_a_container_through_the_docker_connection(corral_project, daemon):
    client = daemon.client()
    client.containers.run(daemon.image, name="app-1", detach=True)
    client.containers.create(daemon.image, name="stopped-1")
    client.close()
    inventory = {
        "all": {
            "vars": {"ansible_connection": "docker", "docker_host": daemon.url},
            "hosts": {"app": {"ansible_host": "app-1"}, "down": {"ansible_host": "stopped-1"}},
        }
    }
    corral_project.write("hosts.yml", json.dumps(inventory))
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {content: "port=80\\n", dest: /etc/app.conf, mode: "0640"}
            - copy: {content: "port=80\\n", dest: /etc/app.conf, mode: "0640"}
            - stat: {path: /etc/app.conf}
              register: st
            - command: cat /etc/app.conf
              register: cat
            - shell: echo "$(id -u) $HOME"
              become: true
              become_user: nobody
              register: who
            - file: {path: /srv/www, state: directory}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json")
    events = result.json_lines()
    assert result.exit_code == 3, result.output  # "down" is unreachable, "app" is fine
    app = {
        e["uid"]: e["result"] for e in events if e["event"] == "task_result" and e["host"] == "app"
    }
    first, second, st, cat, who, made = app.values()
    assert (first["changed"], second["changed"]) == (True, False)
    assert st["stat"]["mode"] == "0640"
    assert cat["stdout"] == "port=80"
    assert who["stdout"].startswith("65534 ")
    assert made["changed"] is True
    down = [e for e in events if e["event"] == "task_result" and e["host"] == "down"]
    assert down[0]["status"] == "unreachable"
    assert "container 'stopped-1' is not running" in down[0]["result"]["msg"]
    client = daemon.client()
    box = client.containers.get("app-1")
    assert box.exec_run(["cat", "/etc/app.conf"]).output == b"port=80\n"
    client.close()


# -- what corral check and corral plugins see ------------------------------------------


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("docker.container: {name: web, state: running}", "argument 'state'"),
        ("docker.container: {name: web, ports: [{a: 1}]}", "argument 'ports.0'"),
        ("docker.image: {name: app, build: {context: .}}", "unknown argument 'build.context'"),
        ("docker.exec: {container: box}", "'command' is a required property"),
        ("docker.info: {all: true}", "unknown argument 'all'"),
    ],
)
def test_check_reports_wrong_arguments_with_file_and_line(corral_project, task, message):
    corral_project.write(
        "site.yml", f"- hosts: localhost\n  tasks:\n    - name: one\n      {task}\n"
    )
    result = corral_project.run("check", "site.yml")
    assert result.exit_code == 4
    assert "site.yml:4:" in result.stderr
    assert message in result.stderr


def test_plugins_lists_the_docker_steps_and_connection(corral_project):
    result = corral_project.run("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["docker"]["steps"] == [
        "docker.container",
        "docker.exec",
        "docker.image",
        "docker.info",
    ]
    assert plugins["docker"]["connections"] == ["docker"]


def _steps() -> list[StepType]:
    found: list[StepType] = []
    docker_plugin.corral_register_steps(register=found.append)
    return found


@pytest.mark.parametrize("step", _steps(), ids=lambda s: s.name)
def test_schema_and_docs_describe_every_argument(step: StepType):
    Draft202012Validator.check_schema(step.schema)
    assert step.schema["additionalProperties"] is False
    text = (DOCS / "steps" / "docker.md").read_text()
    assert f"## {step.name}" in text
    for name, prop in step.schema["properties"].items():
        assert prop.get("description"), f"{step.name}.{name} has no description"
        assert f"| `{name}`" in text
        assert prop["description"] in text, f"docs: {step.name}.{name}'s description is stale"


def test_connection_settings_are_documented():
    found: list[ConnectionType] = []
    docker_plugin.corral_register_connections(register=found.append)
    text = (DOCS / "connections.md").read_text()
    start = text.index("\n## docker\n") + 1
    end = text.find("\n## ", start)
    section = text[start : end if end != -1 else None]
    for setting in found[0].settings:
        assert f"`{setting.name}`" in section
        assert setting.description in section


# -- pure parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("80", ("80/tcp", "", "")),
        (8080, ("8080/tcp", "", "")),
        ("8080:80", ("80/tcp", "", "8080")),
        ("127.0.0.1:8080:80/udp", ("80/udp", "127.0.0.1", "8080")),
        ("[::1]::53/udp", ("53/udp", "::1", "")),
    ],
)
def test_parse_port(text, parsed):
    assert parse_port(text) == parsed


@pytest.mark.parametrize("text", ["http", "80/icmp", "a:80", "1:2:3:4"])
def test_parse_port_rejects(text):
    with pytest.raises(ValueError, match="invalid port"):
        parse_port(text)


def test_parse_volume():
    assert parse_volume("/srv:/data") == ("/srv", "/data", "rw")
    assert parse_volume("logs:/var/log:ro") == ("logs", "/var/log", "ro")
    with pytest.raises(ValueError, match="invalid volume"):
        parse_volume("/only")


IMAGE = {
    "Id": "sha256:img",
    "Config": {"Cmd": ["sleep", "1"], "Entrypoint": None, "Env": ["LANG=C"]},
}
RUNNING = {
    "Image": "sha256:img",
    "Config": {
        "Cmd": ["sleep", "1"],
        "Entrypoint": None,
        "Env": ["LANG=C", "A=1", "PATH=/usr/bin"],
        "Labels": {"tier": "web", "added-by-image": "x"},
        "User": "",
        "WorkingDir": "",
    },
    "HostConfig": {
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "Binds": ["/srv:/data"],
        "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0},
        "NetworkMode": "default",
    },
}


def test_differences_is_empty_when_everything_matches():
    spec = container_spec(
        {"name": "w", "image": "x", "env": {"A": 1}, "ports": ["8080:80"],
         "volumes": ["/srv:/data:rw"], "restart_policy": "always", "labels": {"tier": "web"}}
    )  # fmt: skip
    assert differences(spec, RUNNING, IMAGE) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"image": None}, ["image"]),
        ({"command": "sleep 2"}, ["command"]),
        ({"entrypoint": ["/bin/sh"]}, ["entrypoint", "command"]),  # a new entrypoint drops CMD
        ({"env": {"A": "2"}}, ["env"]),
        ({"env": {}}, ["env"]),  # A=1 was removed from the task
        ({"ports": []}, ["ports"]),
        ({"volumes": ["/srv:/data:ro"]}, ["volumes"]),
        ({"restart_policy": "no"}, ["restart_policy"]),
        ({"labels": {"tier": "db"}}, ["labels"]),
        ({"user": "app"}, ["user"]),
        ({"network_mode": "host"}, ["network_mode"]),
        ({"healthcheck": {"test": "true"}}, ["healthcheck"]),
    ],
)
def test_differences_names_what_changed(change, expected):
    args = {"name": "w", "image": "x", "env": {"A": 1}, "ports": ["8080:80"],
            "volumes": ["/srv:/data"], "restart_policy": "always",
            "labels": {"tier": "web"}}  # fmt: skip
    image = dict(IMAGE)
    if change.pop("image", 0) is None:
        image["Id"] = "sha256:other"
    args.update(change)
    assert differences(container_spec(args), RUNNING, image) == expected


def test_create_arguments_build_the_spec():
    spec = container_spec(
        {"name": "w", "image": "x", "ports": ["127.0.0.1:8080:80", "53/udp", "127.0.0.1::9000"],
         "restart_policy": "on-failure", "restart_retries": 3,
         "healthcheck": {"test": ["true"], "interval": 0.5}}
    )  # fmt: skip
    kwargs = create_arguments(spec)
    assert kwargs["ports"] == {
        "80/tcp": ("127.0.0.1", 8080),
        "53/udp": None,
        "9000/tcp": ("127.0.0.1",),
    }
    assert kwargs["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert kwargs["healthcheck"] == {"Test": ["CMD", "true"], "Interval": 500_000_000}
    assert isinstance(spec, ContainerSpec)

"""get_url, unarchive, archive, find, slurp and tempfile over SSH and docker connections.

One playbook runs twice through ``corral run``: against a real sshd host on loopback (as
the non-root test user, with ``become`` for a root-only file) and against a busybox
container (no Python, no GNU tools). The second run must change nothing but ``tempfile``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from typing import Any

import dockerd as dockerd_service
import pytest
from dockerd import DockerDaemon
from pytest_httpserver import HTTPServer
from sshd import SshdFleet, module_fleet

from corral.testing import CorralProject

dockerd = dockerd_service.dockerd  # the module-scoped daemon fixture


def tgz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("app/bin/run", b"#!/bin/sh\n"), ("app/README", b"read me\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o755, 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ARCHIVE = tgz()

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - file: {path: "{{ work }}/in/sub", state: directory}
    - copy: {content: "alpha\\n", dest: "{{ work }}/in/a.log"}
    - copy: {content: "ERROR beta\\n", dest: "{{ work }}/in/sub/b.log"}
    - file: {path: "{{ work }}/out", state: directory}
    - file: {path: "{{ work }}/out2", state: directory}
    - get_url:
        url: "{{ url }}"
        dest: "{{ work }}/app.tgz"
        checksum: "sha256:{{ sha }}"
        mode: "0640"
    - unarchive: {src: app.tgz, dest: "{{ work }}/out", list_files: true}
    - unarchive: {src: "{{ work }}/app.tgz", dest: "{{ work }}/out2", remote_src: true}
    - archive: {path: "{{ work }}/in", dest: "{{ work }}/in.tgz"}
    - find: {paths: "{{ work }}/in", patterns: "*.log", recurse: true, contains: "ERROR"}
    - slurp: {src: "{{ secret }}"}
      become: "{{ use_become }}"
    - tempfile: {path: "{{ work }}", suffix: .tmp}
"""

NAMES = [
    "file",
    "copy",
    "copy",
    "file",
    "file",
    "get_url",
    "unarchive",
    "unarchive",
    "archive",
    "find",
    "slurp",
    "tempfile",
]


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    srv.expect_request("/app.tgz").respond_with_data(ARCHIVE)
    yield srv
    srv.stop()


def run_twice(project: CorralProject, inventory: str, extra: dict[str, Any]) -> list[list[dict]]:
    project.write("hosts.ini", inventory)
    project.write("site.yml", PLAYBOOK)
    (project.path / "files").mkdir(exist_ok=True)
    (project.path / "files" / "app.tgz").write_bytes(ARCHIVE)
    runs = []
    for _ in range(2):
        result = project.run(
            "run", "site.yml", "-i", "hosts.ini", "--output", "json", "-e", json.dumps(extra)
        )
        assert result.exit_code == 0, result.output
        runs.append([e["result"] for e in result.json_lines() if e["event"] == "task_result"])
    return runs


def check_results(first: list[dict], second: list[dict], work: str) -> None:
    assert len(first) == len(NAMES)
    assert [r["changed"] for r in first] == [True] * 9 + [False, False, True]
    assert [r["changed"] for r in second] == [False] * 11 + [True]  # tempfile always changes
    unarchived = first[6]
    assert unarchived["files"] == ["app/bin/run", "app/README"]
    found = first[9]
    assert [f["path"] for f in found["files"]] == [f"{work}/in/sub/b.log"]
    assert base64.b64decode(first[10]["content"]) == b"root only\n"
    assert first[11]["path"].startswith(f"{work}/ansible.")


def extra_vars(server: HTTPServer, work: str, secret: str, become: bool) -> dict[str, Any]:
    return {
        "work": work,
        "url": server.url_for("/app.tgz"),
        "sha": hashlib.sha256(ARCHIVE).hexdigest(),
        "secret": secret,
        "use_become": become,
    }


# -- ssh ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1) as fleet:
        yield fleet


def test_over_ssh_as_a_user_with_become(
    fleet: SshdFleet, corral_project: CorralProject, server: HTTPServer
) -> None:
    work = fleet.scratch("fileops")
    secret = work / "secret"
    secret.write_text("root only\n")
    secret.chmod(0o600)  # owned by root: the test user reads it only through become
    inventory = fleet.inventory_ini(corral_known_hosts=str(fleet.root / "known_hosts"))
    first, second = run_twice(
        corral_project, inventory, extra_vars(server, str(work), str(secret), True)
    )
    check_results(first, second, str(work))
    assert (work / "out" / "app" / "README").read_bytes() == b"read me\n"
    assert (work / "out2" / "app" / "bin" / "run").read_bytes() == b"#!/bin/sh\n"
    assert oct((work / "app.tgz").stat().st_mode & 0o777) == "0o640"
    with tarfile.open(work / "in.tgz") as archive:
        assert sorted(archive.getnames()) == ["in", "in/a.log", "in/sub", "in/sub/b.log"]
    assert os.stat(work / "out" / "app" / "README").st_uid != 0  # extracted as the user


# -- docker (busybox: no Python, no GNU tools) ----------------------------------------------


def test_in_a_busybox_container(
    dockerd: DockerDaemon, corral_project: CorralProject, server: HTTPServer
) -> None:
    client = dockerd.client()
    container = client.containers.run(dockerd.image, name="fileops-box", detach=True)
    try:
        container.exec_run(["sh", "-c", "mkdir -p /srv/work && echo 'root only' > /srv/secret"])
        inventory = (
            f"box ansible_connection=docker ansible_host=fileops-box docker_host={dockerd.url}\n"
        )
        first, second = run_twice(
            corral_project, inventory, extra_vars(server, "/srv/work", "/srv/secret", False)
        )
        check_results(first, second, "/srv/work")
        out = container.exec_run(["cat", "/srv/work/out/app/README"]).output
        assert out == b"read me\n"
        listing = container.exec_run(["tar", "-tzf", "/srv/work/in.tgz"]).output.decode()
        assert sorted(line.rstrip("/") for line in listing.split()) == [
            "in",
            "in/a.log",
            "in/sub",
            "in/sub/b.log",
        ]
    finally:
        container.remove(force=True)
        client.close()


def test_find_over_ssh_reports_unreadable_directories(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    work = fleet.scratch("unreadable")
    (work / "open").mkdir()
    (work / "open" / "a.log").write_text("a\n")
    (work / "closed").mkdir(mode=0o700)  # root's: the test user cannot list it
    (work / "closed" / "b.log").write_text("b\n")
    corral_project.write(
        "hosts.ini", fleet.inventory_ini(corral_known_hosts=str(fleet.root / "known_hosts"))
    )
    corral_project.write(
        "site.yml",
        f"""
- hosts: all
  gather_facts: false
  tasks:
    - find: {{paths: {work}, recurse: true}}
""",
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    (found,) = [e["result"] for e in result.json_lines() if e["event"] == "task_result"]
    assert [f["path"] for f in found["files"]] == [f"{work}/open/a.log"]
    assert found["skipped_paths"] == {f"{work}/closed": "Permission denied"}
    assert found["msg"] == "Not all paths examined, check warnings for details"

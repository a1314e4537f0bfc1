"""``get_url`` through ``corral run`` against a real local HTTP server (pytest-httpserver)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

HOSTS = "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"
PAYLOAD = b"release 1.0 binary\n"
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(scope="module")
def _server():
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(_server):
    yield _server
    _server.clear()


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run_tasks(project, *tasks: dict, args: tuple[str, ...] = ()):
    body = "".join(f"    - {json.dumps(t)}\n" for t in tasks)
    project.write("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + body)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, [e["result"] for e in result.json_lines() if e["event"] == "task_result"]


def serve(server, path="/app.bin", body=PAYLOAD, **kwargs):
    server.expect_request(path).respond_with_data(body, **kwargs)


def test_download_with_checksum_and_mode_then_idempotent(project, server, tmp_path):
    serve(server)
    dest = tmp_path / "app.bin"
    step = {
        "get_url": {
            "url": server.url_for("/app.bin"),
            "dest": str(dest),
            "checksum": f"sha256:{SHA256}",
            "mode": "0750",
        }
    }
    result, (first,) = run_tasks(project, step)
    assert result.exit_code == 0, result.output
    assert dest.read_bytes() == PAYLOAD
    assert stat.S_IMODE(dest.stat().st_mode) == 0o750
    assert first["changed"] is True
    assert first["status_code"] == 200
    assert first["checksum_src"] == hashlib.sha1(PAYLOAD).hexdigest()
    assert first["checksum_dest"] is None
    assert first["md5sum"] == hashlib.md5(PAYLOAD).hexdigest()
    assert first["size"] == len(PAYLOAD)
    assert first["mode"] == "0750"
    assert first["msg"] == f"OK ({len(PAYLOAD)} bytes)"
    requests = len(server.log)
    result, (second,) = run_tasks(project, step)
    assert second["changed"] is False
    assert second["msg"] == "file already exists"
    assert len(server.log) == requests  # a matching checksum needs no download


def test_force_false_keeps_an_existing_file_without_a_request(project, server, tmp_path):
    serve(server)
    dest = tmp_path / "app.bin"
    dest.write_bytes(b"local copy\n")
    step = {"get_url": {"url": server.url_for("/app.bin"), "dest": str(dest)}}
    _, (kept,) = run_tasks(project, step)
    assert kept["changed"] is False
    assert dest.read_bytes() == b"local copy\n"
    assert server.log == []
    step["get_url"]["force"] = True
    _, (forced,) = run_tasks(project, step)
    assert forced["changed"] is True
    assert forced["checksum_dest"] == hashlib.sha1(b"local copy\n").hexdigest()
    assert dest.read_bytes() == PAYLOAD
    _, (again,) = run_tasks(project, step)
    assert again["changed"] is False  # downloaded, same content: not rewritten


def test_checksum_mismatch_fails_and_leaves_no_file(project, server, tmp_path):
    serve(server)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "app.bin"
    wrong = "0" * 64
    step = {
        "get_url": {
            "url": server.url_for("/app.bin"),
            "dest": str(dest),
            "checksum": f"sha256:{wrong}",
        }
    }
    result, (failed,) = run_tasks(project, step)
    assert result.exit_code == 2, result.output
    assert failed["failed"] is True
    assert failed["msg"] == f"The checksum for {dest} did not match {wrong}; it was {SHA256}."
    assert not dest.exists()
    assert list(out.iterdir()) == []  # nothing beside it either


def test_a_file_failing_the_checksum_is_downloaded_again(project, server, tmp_path):
    serve(server)
    dest = tmp_path / "app.bin"
    dest.write_bytes(b"corrupt")
    step = {
        "get_url": {
            "url": server.url_for("/app.bin"),
            "dest": str(dest),
            "checksum": f"sha256:{SHA256}",
        }
    }
    _, (fixed,) = run_tasks(project, step)
    assert fixed["changed"] is True
    assert dest.read_bytes() == PAYLOAD


def test_checksum_from_a_checksum_file(project, server, tmp_path):
    serve(server)
    sums = f"{'1' * 64}  other.tar.gz\n{SHA256} *app.bin\n"
    server.expect_request("/SHA256SUMS").respond_with_data(sums)
    dest = tmp_path / "app.bin"
    step = {
        "get_url": {
            "url": server.url_for("/app.bin"),
            "dest": str(dest),
            "checksum": f"sha256:{server.url_for('/SHA256SUMS')}",
        }
    }
    result, (got,) = run_tasks(project, step)
    assert result.exit_code == 0, result.output
    assert got["changed"] is True
    assert dest.read_bytes() == PAYLOAD
    server.expect_request("/none").respond_with_data(f"{'1' * 64}  other.tar.gz\n")
    step["get_url"]["checksum"] = f"sha256:{server.url_for('/none')}"
    step["get_url"]["dest"] = str(tmp_path / "second.bin")
    _, (missing,) = run_tasks(project, step)
    assert missing["failed"] is True
    assert missing["msg"].startswith("Unable to find a checksum for file 'app.bin' in '")
    assert not (tmp_path / "second.bin").exists()


def test_into_a_directory_uses_the_servers_file_name(project, server, tmp_path):
    serve(server, "/download", headers={"Content-Disposition": 'attachment; filename="tool.bin"'})
    _, (got,) = run_tasks(
        project, {"get_url": {"url": server.url_for("/download"), "dest": str(tmp_path)}}
    )
    assert got["dest"] == str(tmp_path / "tool.bin")
    assert (tmp_path / "tool.bin").read_bytes() == PAYLOAD


def test_check_mode_writes_nothing(project, server, tmp_path):
    serve(server)
    dest = tmp_path / "app.bin"
    step = {"get_url": {"url": server.url_for("/app.bin"), "dest": str(dest)}}
    result, (got,) = run_tasks(project, step, args=("--check",))
    assert result.exit_code == 0, result.output
    assert got["changed"] is True
    assert not dest.exists()


def test_headers_basic_auth_backup_and_errors(project, server, tmp_path):
    token = base64.b64encode(b"ops:s3cret").decode()
    server.expect_request(
        "/private", headers={"Authorization": f"Basic {token}", "X-Env": "prod"}
    ).respond_with_data(PAYLOAD)
    dest = tmp_path / "private.bin"
    dest.write_bytes(b"old")
    step = {
        "get_url": {
            "url": server.url_for("/private"),
            "dest": str(dest),
            "force": True,
            "headers": {"X-Env": "prod"},
            "url_username": "ops",
            "url_password": "s3cret",
            "force_basic_auth": True,
            "backup": True,
        }
    }
    result, (got,) = run_tasks(project, step)
    assert result.exit_code == 0, result.output
    assert dest.read_bytes() == PAYLOAD
    assert Path(got["backup_file"]).read_bytes() == b"old"
    assert "s3cret" not in result.output
    _, (missing,) = run_tasks(
        project, {"get_url": {"url": server.url_for("/nope"), "dest": str(tmp_path / "n")}}
    )
    assert missing["failed"] is True
    assert missing["msg"] == "Request failed"
    assert missing["status_code"] == 500  # pytest-httpserver answers unknown paths with 500
    assert not (tmp_path / "n").exists()


def test_bad_checksum_argument_names_it(project, server, tmp_path):
    step = {
        "get_url": {"url": server.url_for("/x"), "dest": str(tmp_path / "x"), "checksum": "nohash"}
    }
    _, (got,) = run_tasks(project, step)
    assert got["failed"] is True
    assert "argument 'checksum'" in got["msg"]
    assert server.log == []


def test_owner_and_group_are_set_and_then_kept(project, server, tmp_path):
    import pwd

    serve(server)
    dest = tmp_path / "owned.bin"
    step = {
        "get_url": {
            "url": server.url_for("/app.bin"),
            "dest": str(dest),
            "owner": "nobody",
            "group": "nogroup",
            "mode": "0644",
        }
    }
    _, (first,) = run_tasks(project, step)
    assert first["changed"] is True
    assert pwd.getpwuid(dest.stat().st_uid).pw_name == "nobody"
    assert first["owner"] == "nobody"
    assert first["group"] == "nogroup"
    os.chown(dest, 0, 0)
    _, (fixed,) = run_tasks(project, step)
    assert fixed["changed"] is True
    assert fixed["msg"] == "file already exists but file attributes changed"
    _, (kept,) = run_tasks(project, step)
    assert kept["changed"] is False


def test_http_agent_and_decompress(project, server, tmp_path):
    import gzip

    packed = gzip.compress(PAYLOAD)
    server.expect_request("/gz", headers={"User-Agent": "ops-bot/2"}).respond_with_data(
        packed, headers={"Content-Encoding": "gzip"}
    )
    decoded, raw = tmp_path / "decoded", tmp_path / "raw"
    url = server.url_for("/gz")
    result, _ = run_tasks(
        project,
        {"get_url": {"url": url, "dest": str(decoded), "http_agent": "ops-bot/2"}},
        {"get_url": {"url": url, "dest": str(raw), "http_agent": "ops-bot/2", "decompress": False}},
    )
    assert result.exit_code == 0, result.output
    assert decoded.read_bytes() == PAYLOAD
    assert raw.read_bytes() == packed

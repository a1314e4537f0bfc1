"""The ``http`` step (``uri``) against real local HTTP and HTTPS servers, through ``corral run``."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from corral_plugins import http as http_plugin

HOSTS = "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "steps"


# -- servers, started by the tests ------------------------------------------------------


def _start(**kwargs) -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, **kwargs)
    server.start()
    return server


@pytest.fixture(scope="module")
def _plain_server():
    # One server per module: stopping one takes half a second (werkzeug's poll interval).
    srv = _start(threaded=True)
    yield srv
    srv.stop()


@pytest.fixture
def server(_plain_server):
    yield _plain_server
    _plain_server.clear()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls_files(ca, tmp_path):
    """The CA's certificate and a client certificate and key, as PEM files."""
    client = ca.issue_cert("ops-client@example.com")
    paths = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "client.pem",
        "key": tmp_path / "client.key",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    client.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    client.private_key_pem.write_to_path(str(paths["key"]))
    return paths


def _server_context(ca, *, client_certs: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if client_certs:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def _https_server(ca):
    srv = _start(ssl_context=_server_context(ca), threaded=True)
    yield srv
    srv.stop()


@pytest.fixture
def https_server(_https_server):
    yield _https_server
    _https_server.clear()


@pytest.fixture
def mtls_server(ca):
    srv = _start(ssl_context=_server_context(ca, client_certs=True), threaded=True)
    yield srv
    srv.stop()


@pytest.fixture
def hanging_url():
    """A server that accepts connections (the kernel does, from the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/slow"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- running playbooks ------------------------------------------------------------------


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run_tasks(project, tasks: str, *args: str):
    """Run ``tasks`` on localhost; return the CLI result and the task results in order."""
    project.write("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    results = [e["result"] for e in result.json_lines() if e["event"] == "task_result"]
    return result, results


def task(step: str, args: dict, **keywords) -> str:
    """One task as YAML (JSON is YAML), indented for ``run_tasks``."""
    entry = {step: args, **keywords}
    return f"    - {json.dumps(entry)}\n"


# -- requests and results ----------------------------------------------------------------


def test_get_json_returns_ansibles_result_shape(project, server):
    server.expect_request("/api/health").respond_with_json(
        {"ok": True, "version": "1.2.3"}, headers={"X-Build": "42"}
    )
    tasks = task("http", {"url": server.url_for("/api/health")}, register="health")
    tasks += task(
        "assert", {"that": ["health.status == 200", "health.json.ok", "health.x_build == '42'"]}
    )
    result, results = run_tasks(project, tasks)
    assert result.exit_code == 0, result.output
    got = results[0]
    assert got["status"] == 200
    assert got["json"] == {"ok": True, "version": "1.2.3"}
    assert got["url"] == server.url_for("/api/health")
    assert got["headers"]["x-build"] == "42"
    assert got["content_type"] == "application/json"
    assert got["changed"] is False
    assert got["redirected"] is False
    assert got["msg"].startswith("OK (")
    assert "content" not in got  # only with return_content
    request, _ = server.log[0]
    assert request.headers["User-Agent"].startswith("corral/")


def test_post_json_with_params_headers_and_basic_auth(project, server):
    server.expect_request("/deploy", method="POST").respond_with_json({"id": 7}, status=201)
    args = {
        "url": server.url_for("/deploy"),
        "method": "post",
        "params": {"env": "prod", "tag": ["a", "b"], "dry": False},
        "headers": {"X-Request-Id": "abc"},
        "json": {"service": "web", "replicas": 3},
        "url_username": "ops",
        "url_password": "hunter2-password",
        "status_code": [200, 201],
    }
    result, results = run_tasks(project, task("http", args))
    assert result.exit_code == 0, result.output
    assert results[0]["status"] == 201
    request, _ = server.log[0]
    assert request.args.to_dict(flat=False) == {
        "env": ["prod"],
        "tag": ["a", "b"],
        "dry": ["false"],
    }
    assert request.headers["X-Request-Id"] == "abc"
    assert request.headers["Content-Type"] == "application/json"
    assert request.get_json() == {"service": "web", "replicas": 3}
    assert request.authorization.username == "ops"
    assert request.authorization.password == "hunter2-password"
    assert "hunter2-password" not in result.output


def test_bodies_form_raw_and_ansible_body_format(project, server):
    server.expect_request("/in", method="PUT").respond_with_data("stored")
    tasks = task(
        "http", {"url": server.url_for("/in"), "method": "PUT", "form": {"a": "1", "b": "x y"}}
    )
    tasks += task(
        "uri",
        {
            "url": server.url_for("/in"),
            "method": "PUT",
            "body": {"k": [1, 2]},
            "body_format": "json",
        },
    )
    tasks += task(
        "ansible.builtin.uri",
        {
            "url": server.url_for("/in"),
            "method": "PUT",
            "body": "plain text",
            "headers": {"Content-Type": "text/plain"},
        },
    )
    result, _ = run_tasks(project, tasks)
    assert result.exit_code == 0, result.output
    form, as_json, raw = (request for request, _ in server.log)
    assert form.form.to_dict() == {"a": "1", "b": "x y"}
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert as_json.get_json() == {"k": [1, 2]}
    assert raw.get_data(as_text=True) == "plain text"
    assert raw.headers["Content-Type"] == "text/plain"


def test_bearer_token_is_sent_and_never_shown(project, server):
    server.expect_request("/me", headers={"Authorization": "Bearer tok-123456"}).respond_with_json(
        {"me": 1}
    )
    result, results = run_tasks(
        project,
        task(
            "http",
            {"url": server.url_for("/me"), "bearer_token": "tok-123456", "return_content": True},
        ),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(results[0]["content"]) == {"me": 1}
    assert "tok-123456" not in result.output


def test_credentials_in_the_url_are_used_and_masked(project, server):
    server.expect_request("/private").respond_with_data("yes")
    url = server.url_for("/private").replace("http://", "http://admin:url-secret-9@")
    result, results = run_tasks(project, task("http", {"url": url}))
    assert result.exit_code == 0, result.output
    request, _ = server.log[0]
    assert request.authorization.password == "url-secret-9"
    assert results[0]["url"] == url.replace("url-secret-9", "********")
    assert "url-secret-9" not in result.output


# -- failures ---------------------------------------------------------------------------


def test_unexpected_status_fails_the_host(project, server):
    server.expect_request("/missing").respond_with_data("nope", status=404)
    result, results = run_tasks(project, task("http", {"url": server.url_for("/missing")}))
    assert result.exit_code == 2
    assert results[0]["failed"] is True
    assert results[0]["status"] == 404
    assert results[0]["msg"] == "Status code was 404 and not [200]: HTTP Error 404: NOT FOUND"
    result.assert_recap(failed=1)


def test_status_code_list_accepts_other_codes(project, server):
    server.expect_request("/gone").respond_with_data("", status=410)
    url = server.url_for("/gone")
    tasks = task("http", {"url": url, "status_code": [404, 410]})
    tasks += task("uri", {"url": url, "status_code": "404, 410"})  # Ansible's string form
    result, results = run_tasks(project, tasks)
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in results] == [410, 410]


def test_connection_refused(project):
    url = f"http://127.0.0.1:{_closed_port()}/"
    result, results = run_tasks(project, task("http", {"url": url}))
    assert result.exit_code == 2
    assert results[0]["status"] == -1
    assert results[0]["msg"].startswith(
        "Status code was -1 and not [200]: Request failed: cannot connect"
    )
    assert "Connection refused" in results[0]["msg"]


def test_slow_server_times_out(project, hanging_url):
    started = time.monotonic()
    result, results = run_tasks(project, task("http", {"url": hanging_url, "timeout": 0.3}))
    assert time.monotonic() - started < 15  # the 0.3 s given, not the default 30 s
    assert result.exit_code == 2
    assert "timed out after 0.3s waiting for the server" in results[0]["msg"]


def test_the_task_timeout_applies_when_the_step_has_none(project, hanging_url):
    result, results = run_tasks(project, task("http", {"url": hanging_url}, timeout=0.3))
    assert result.exit_code == 2
    assert "timed out after 0.3s" in results[0]["msg"]


# -- TLS -------------------------------------------------------------------------------


def test_https_with_the_tests_ca(project, https_server, tls_files):
    https_server.expect_request("/secure").respond_with_json({"tls": True})
    url = https_server.url_for("/secure")
    assert url.startswith("https://")
    result, results = run_tasks(
        project, task("http", {"url": url, "ca_cert": str(tls_files["ca"])})
    )
    assert result.exit_code == 0, result.output
    assert results[0]["json"] == {"tls": True}


def test_https_with_an_untrusted_certificate_fails_by_default(project, https_server):
    https_server.expect_request("/secure").respond_with_data("never")
    result, results = run_tasks(project, task("http", {"url": https_server.url_for("/secure")}))
    assert result.exit_code == 2
    msg = results[0]["msg"]
    assert "TLS certificate verify failed" in msg
    assert "ca_cert" in msg  # the hint
    assert not https_server.log


def test_validate_certs_false_accepts_any_certificate(project, https_server):
    https_server.expect_request("/secure").respond_with_data("ok")
    result, _ = run_tasks(
        project, task("http", {"url": https_server.url_for("/secure"), "validate_certs": False})
    )
    assert result.exit_code == 0, result.output


def test_client_certificate(project, mtls_server, tls_files):
    mtls_server.expect_request("/mtls").respond_with_data("hello client")
    url = mtls_server.url_for("/mtls")
    trusted = {"url": url, "ca_cert": str(tls_files["ca"]), "return_content": True}
    with_cert = {
        **trusted,
        "client_cert": str(tls_files["cert"]),
        "client_key": str(tls_files["key"]),
    }
    tasks = task("http", trusted, ignore_errors=True) + task("http", with_cert)
    result, results = run_tasks(project, tasks)
    assert results[0]["failed"] is True
    assert results[0]["status"] == -1
    assert result.exit_code == 0, result.output
    assert results[1]["content"] == "hello client"


def test_missing_ca_file_is_a_clear_failure(project, server):
    result, results = run_tasks(
        project, task("http", {"url": server.url_for("/"), "ca_cert": "nowhere.pem"})
    )
    assert result.exit_code == 2
    assert results[0]["msg"] == "ca_cert 'nowhere.pem' not found on the controller"


# -- redirects ---------------------------------------------------------------------------


def test_redirects_are_followed_safely(project, server):
    server.expect_request("/old").respond_with_data("", status=302, headers={"Location": "/new"})
    server.expect_request("/new").respond_with_data("moved here")
    old = server.url_for("/old")
    tasks = task("http", {"url": old})
    tasks += task("http", {"url": old, "method": "POST"}, ignore_errors=True)
    tasks += task("http", {"url": old, "follow_redirects": "none", "status_code": 302})
    tasks += task("http", {"url": old, "method": "POST", "follow_redirects": "all"})
    result, results = run_tasks(project, tasks)
    assert result.exit_code == 0, result.output
    followed, post_not_followed, not_followed, post_followed = results
    assert followed["status"] == 200
    assert followed["redirected"] is True
    assert followed["url"] == server.url_for("/new")
    assert post_not_followed["status"] == 302
    assert post_not_followed["failed"] is True
    assert not_followed["location"] == server.url_for("/new")
    assert post_followed["status"] == 200


# -- downloads to the host ------------------------------------------------------------------


def test_dest_downloads_to_the_host_once(project, server, tmp_path):
    payload = b"binary\x00payload" * 1000
    server.expect_request("/pkg.tar").respond_with_data(
        payload, content_type="application/octet-stream"
    )
    dest = tmp_path / "pkg.tar"
    tasks = task("http", {"url": server.url_for("/pkg.tar"), "dest": str(dest), "mode": "0640"})
    result, results = run_tasks(project, tasks)
    assert result.exit_code == 0, result.output
    assert dest.read_bytes() == payload
    assert oct(dest.stat().st_mode & 0o777) == "0o640"
    assert results[0]["changed"] is True
    assert results[0]["path"] == str(dest)
    assert results[0]["size"] == len(payload)

    again, results = run_tasks(project, tasks)
    assert again.exit_code == 0
    assert results[0]["changed"] is False
    assert "already has this content" in results[0]["msg"]


def test_dest_directory_uses_the_servers_file_name(project, server, tmp_path):
    headers = {"Content-Disposition": 'attachment; filename="report-2026.csv"'}
    server.expect_request("/export").respond_with_data("a,b\n1,2\n", headers=headers)
    result, results = run_tasks(
        project, task("http", {"url": server.url_for("/export"), "dest": f"{tmp_path}/"})
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report-2026.csv").read_text() == "a,b\n1,2\n"
    assert results[0]["path"] == str(tmp_path / "report-2026.csv")


def test_dest_is_not_written_on_a_bad_status(project, server, tmp_path):
    server.expect_request("/pkg").respond_with_data("error page", status=500)
    dest = tmp_path / "pkg"
    result, results = run_tasks(
        project, task("http", {"url": server.url_for("/pkg"), "dest": str(dest)})
    )
    assert result.exit_code == 2
    assert not dest.exists()
    assert results[0]["status"] == 500


def test_creates_skips_the_request(project, server, tmp_path):
    marker = tmp_path / "done"
    marker.write_text("")
    result, results = run_tasks(
        project,
        task("http", {"url": server.url_for("/x"), "method": "POST", "creates": str(marker)}),
    )
    assert result.exit_code == 0, result.output
    assert results[0]["msg"] == f"skipped, since '{marker}' exists"
    assert not server.log


# -- check mode --------------------------------------------------------------------------


def test_check_mode_sends_only_get_and_head(project, server, tmp_path):
    server.expect_request("/state").respond_with_json({"n": 1})
    server.expect_request("/file").respond_with_data("content")
    dest = tmp_path / "file"
    tasks = task("http", {"url": server.url_for("/state")}, register="state")
    tasks += task("http", {"url": server.url_for("/state"), "method": "DELETE"})
    tasks += task("http", {"url": server.url_for("/file"), "dest": str(dest)})
    result, results = run_tasks(project, tasks, "--check")
    assert result.exit_code == 0, result.output
    assert results[0]["json"] == {"n": 1}
    assert results[1]["skipped"] is True
    assert "DELETE" in results[1]["msg"]
    assert results[2]["changed"] is True
    assert not dest.exists()
    assert [request.method for request, _ in server.log] == ["GET", "GET"]


# -- validation, registration, docs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ('{url: "ftp://files.example.com/x"}', "argument 'url' of step 'http'"),
        ("{url: 'http://x', methd: POST}", "unknown argument 'methd' for step 'http'"),
        ("{url: 'http://x', status_code: ok}", "argument 'status_code' of step 'http'"),
        ("{url: 'http://x', timeout: soon}", "argument 'timeout' of step 'http'"),
        ("{url: 'http://x', json: {a: 1}, body: text}", "argument 'body' of step 'http'"),
        ("{method: GET}", "'url' is a required property"),
    ],
)
def test_check_reports_wrong_arguments_with_file_and_line(project, args, message):
    project.write(
        "site.yml", f"- hosts: localhost\n  tasks:\n    - debug: {{msg: hi}}\n    - http: {args}\n"
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: site.yml:4:"), first
    assert message in first


def test_unknown_argument_gets_a_hint(project):
    project.write(
        "site.yml",
        "- hosts: localhost\n  tasks:\n    - uri: {url: 'http://x', retrun_content: true}\n",
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "did you mean 'return_content'?" in result.stderr


def test_plugins_lists_http_and_its_aliases(project):
    result = project.run("plugins", "--json")
    assert result.exit_code == 0
    plugin = next(p for p in json.loads(result.stdout) if p["name"] == "http")
    assert plugin["builtin"] is True
    assert "http" in json.dumps(plugin["steps"])
    steps = []
    http_plugin.corral_register_steps(register=steps.append)
    assert steps[0].aliases == ("uri", "ansible.builtin.uri", "ansible.legacy.uri")


def test_loading_the_plugins_does_not_import_httpx():
    code = (
        "import sys\n"
        "from corral.plugins import build_registry, make_plugin_manager\n"
        "registry = build_registry(make_plugin_manager({}))\n"
        "assert 'http' in registry.steps and 'notify.slack' in registry.steps\n"
        "print(sorted(m for m in ('httpx', 'smtplib') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", "start-up imported heavy modules: " + out.stdout


def test_schema_and_docs_describe_every_argument():
    steps = []
    http_plugin.corral_register_steps(register=steps.append)
    text = (DOCS / "http.md").read_text()
    assert text.startswith("# http ")
    for heading in ("## Arguments", "## Returns", "## Check mode and diff", "## Examples"):
        assert heading in text
    for name, prop in steps[0].schema["properties"].items():
        assert prop.get("description"), name
        assert f"| `{name}`" in text, f"docs/steps/http.md does not list {name}"
        assert prop["description"] in text, f"docs/steps/http.md: {name}'s description is stale"


def test_basic_auth_header_is_well_formed(server, project):
    # The header is built by corral (sent with the first request, as force_basic_auth does).
    expected = "Basic " + base64.b64encode(b"u:p@ss:word").decode()
    server.expect_request("/b", headers={"Authorization": expected}).respond_with_data("ok")
    result, _ = run_tasks(
        project, task("http", {"url": server.url_for("/b"), "user": "u", "password": "p@ss:word"})
    )
    assert result.exit_code == 0, result.output

"""The ``haproxy`` step against a real HAProxy on this machine, through ``corral run``.

HAProxy (Debian's package) runs as a process of the test with its stats socket in the
test's directory; its backend's servers are two tiny HTTP servers of the test, so its
health checks see them up. The step runs on a local-connection host, as it runs on the
load balancer over SSH.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from haproxy_lb import LocalHaproxy, haproxy_config, local_haproxy
from sshd import free_port

from corral.testing import CorralProject
from corral_plugins.haproxy.step import admin_state, parse_connections, parse_servers_state

__all__ = ["local_haproxy"]  # the fixture, imported for this module

# `show servers state app` of HAProxy 2.6: app1 ready and up, app2 drained, app3 in
# forced maintenance, app4 `disabled` in the config then set ready (CMAINT stays set).
HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
    "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
    "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
    "srv_agent_port"
)
STATE = (
    """1
"""
    + HEADER
    + """
3 app 1 app1 127.0.0.1 2 0 1 1 5 6 3 4 6 0 0 0 - 18481 - 0 0 - - 0
3 app 2 app2 127.0.0.1 2 8 1 1 5 6 3 4 6 0 0 0 - 18482 - 0 0 - - 0
3 app 3 app3 127.0.0.1 0 1 1 1 5 6 3 4 6 0 0 0 - 18483 - 0 0 - - 0
3 app 4 app4 127.0.0.1 2 4 1 1 5 6 3 4 6 0 0 0 - 18484 - 0 0 - - 0

"""
)
STAT = """# pxname,svname,qcur,qmax,scur,smax
web,FRONTEND,,,3,9
app,app1,0,0,2,5
app,app2,0,0,0,1
app,BACKEND,0,0,2,6
"""


def test_parse_servers_state():
    servers = parse_servers_state(STATE)
    assert {n: (s["state"], s["up"]) for n, s in servers.items()} == {
        "app1": ("ready", True),
        "app2": ("drain", True),
        "app3": ("maint", False),
        "app4": ("ready", True),
    }
    assert servers["app1"]["address"] == "127.0.0.1:18481"
    assert [admin_state(b) for b in (0, 0x08, 0x10, 0x01, 0x20, 0x04)] == [
        "ready", "drain", "drain", "maint", "maint", "ready",
    ]  # fmt: skip


def test_parse_connections():
    assert parse_connections(STAT, "app") == {"app1": 2, "app2": 0}


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def lb(local_haproxy: Callable[[str], LocalHaproxy]) -> Iterator[LocalHaproxy]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Health) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    backends = [(f"app{i}", "127.0.0.1", s.server_port) for i, s in enumerate(servers, 1)]
    yield local_haproxy(haproxy_config(("127.0.0.1", free_port("127.0.0.1")), backends))
    for server in servers:
        server.shutdown()


def run(project: CorralProject, lb: LocalHaproxy, tasks: str, *args: str) -> list[dict]:
    project.write("hosts.yml", "all:\n  hosts:\n    lb1: {ansible_connection: local}\n")
    body = tasks.replace("SOCKET", str(lb.socket))
    project.write("lb.yml", f"- hosts: lb1\n  gather_facts: false\n  tasks:\n{body}")
    result = project.run_subprocess("run", "lb.yml", "-i", "hosts.yml", "--output", "json", *args)
    events = result.json_lines()
    assert events, result.output
    return [e for e in events if e["event"] == "task_result"]


def test_drain_maint_and_ready(corral_project: CorralProject, lb: LocalHaproxy):
    tasks = """\
    - haproxy: {backend: app, socket: SOCKET, servers: [app1], state: drain, wait_drained: 5}
    - haproxy: {backend: app, socket: SOCKET, servers: [app1], state: drain}
    - haproxy: {backend: app, socket: SOCKET, servers: [app2], state: maint}
"""
    results = run(corral_project, lb, tasks)
    assert [r["status"] for r in results] == ["changed", "ok", "changed"]
    assert results[0]["result"]["servers"]["app1"]["state"] == "drain"
    assert {n: s for n, (s, _) in lb.state().items()} == {"app1": "drain", "app2": "maint"}

    ready = "    - haproxy: {backend: app, socket: SOCKET, servers: [app1, app2], state: ready}\n"
    assert [r["status"] for r in run(corral_project, lb, ready)] == ["changed"]
    assert {n: s for n, (s, _) in lb.state().items()} == {"app1": "ready", "app2": "ready"}


def test_check_mode_reports_without_changing(corral_project: CorralProject, lb: LocalHaproxy):
    tasks = "    - haproxy: {backend: app, socket: SOCKET, servers: [app1], state: maint}\n"
    assert [r["status"] for r in run(corral_project, lb, tasks, "--check")] == ["changed"]
    assert lb.state()["app1"][0] == "ready"


def test_report_sees_the_health_checks(corral_project: CorralProject, lb: LocalHaproxy):
    tasks = """\
    - haproxy: {backend: app, socket: SOCKET}
      register: seen
      until: seen.servers.app1.up and seen.servers.app2.up
      retries: 40
      delay: 0.25
"""
    (result,) = run(corral_project, lb, tasks)
    assert result["status"] == "ok"
    assert {n: s["up"] for n, s in result["result"]["servers"].items()} == {
        "app1": True,
        "app2": True,
    }


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("{backend: app, socket: SOCKET, servers: [app9], state: drain}",
         "backend app has no server app9 (it has app1, app2)"),
        ("{backend: nope, socket: SOCKET}", "HAProxy: Can't find backend."),
        ("{backend: app, socket: SOCKET.missing}", "cannot use HAProxy's runtime API at "),
        ("{backend: app, socket: SOCKET, servers: [app1]}",
         "give both `servers` and `state`, or neither"),
    ],
    ids=["unknown-server", "unknown-backend", "no-socket", "no-state"],
)  # fmt: skip
def test_errors_name_what_is_wrong(corral_project: CorralProject, lb: LocalHaproxy, task, message):
    (result,) = run(corral_project, lb, f"    - haproxy: {task}\n")
    assert result["status"] == "failed"
    assert message in result["result"]["msg"]
    assert json.dumps(lb.state()).count("ready") == 2, "nothing changed"

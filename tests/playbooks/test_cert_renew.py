"""playbooks/cert-renew.yml on a real Debian host (systemd, over SSH) running HAProxy.

The project's CA lives on the controller (this machine: a temporary directory). The host
has two certificates it signed, HAProxy-style bundles (certificate, then key): ``site.pem``,
which expires tomorrow and which HAProxy serves over TLS, and ``fresh.pem``, valid a year.
Three runs, made once for the module: one whose HAProxy reload fails (a broken config),
which must put the old certificate back; one that renews; one that finds nothing to do.
The served certificate is read from this process with ``openssl s_client`` (the
container shares this machine's network).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from debian_hosts import DebianFleet, FleetFactory
from lb_fleet import CONTAINER_DROP_IN
from pytest_httpserver import HTTPServer
from sshd import free_port
from task_results import changed_tasks, hook_reports, messages, results, webhook

from corral.testing import CorralProject
from corral.testing.fixtures import CliResult

pytestmark = pytest.mark.slow

PLAYBOOK = str(Path(__file__).resolve().parents[2] / "playbooks" / "cert-renew.yml")
SITE = "/etc/haproxy/certs/site.pem"
FRESH = "/etc/haproxy/certs/fresh.pem"
HAPROXY_CFG = """global
    stats socket /run/haproxy/admin.sock mode 660 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend tls
    bind {address}:{port} ssl crt {site}
    http-request return status 200 content-type text/plain string ok
"""


@dataclass
class Renewals:
    sent: list[dict[str, Any]]  # what the webhook heard, in order
    broken: CliResult
    after_broken: dict[str, str]  # what is where once the failed run ended
    renewed: CliResult
    after_renewal: dict[str, str]
    again: CliResult
    after_again: dict[str, str]
    before: dict[str, str]
    checked: CliResult
    after_check: dict[str, str]


def openssl(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["openssl", *args], input=stdin, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def make_cert(ca: Path, name: str, days: int) -> str:
    """A key and a certificate for ``name`` signed by the CA, as one PEM (cert, then key)."""
    key = ca / f"{name}.key"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    request = openssl("req", "-new", "-key", str(key), "-subj", f"/CN={name}",
                      "-addext", f"subjectAltName=DNS:{name}")  # fmt: skip
    cert = openssl("x509", "-req", "-CA", str(ca / "ca.crt"), "-CAkey", str(ca / "ca.key"),
                   "-days", str(days), "-copy_extensions", "copyall", stdin=request)  # fmt: skip
    return cert + key.read_text()


def serial(fleet: DebianFleet, host: str, path: str) -> str:
    out = fleet.check(host, ["openssl", "x509", "-noout", "-serial", "-in", path])
    return out.strip().split("=", 1)[1]


def served(address: str, port: int) -> str:
    hello = subprocess.run(
        ["openssl", "s_client", "-connect", f"{address}:{port}"],
        input="", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return openssl("x509", "-noout", "-serial", stdin=hello.stdout).strip().split("=", 1)[1]


@pytest.fixture(scope="module")
def hook() -> Iterator[HTTPServer]:
    yield from webhook()


@pytest.fixture(scope="module")
def renewals(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory, hook: HTTPServer
) -> Renewals:
    fleet = module_debian_fleet(1, systemd=True, image="services", prefix="crt")
    host = fleet.hosts[0]
    base = tmp_path_factory.mktemp("certs")
    ca = base / "ca"
    ca.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(ca / "ca.key"), "-out", str(ca / "ca.crt"), "-subj", "/CN=test CA",
            "-days", "30")  # fmt: skip
    fleet.check(host, ["mkdir", "-p", "/etc/haproxy/certs"])
    fleet.write(host, SITE, make_cert(ca, "site", 1), mode=0o600)
    fleet.write(host, FRESH, make_cert(ca, "fresh", 365), mode=0o600)
    port = free_port(host.address)
    config = HAPROXY_CFG.format(address=host.address, port=port, site=SITE)
    fleet.write(host, "/etc/haproxy/haproxy.cfg", config)
    fleet.write(host, "/etc/systemd/system/haproxy.service.d/container.conf", CONTAINER_DROP_IN)
    fleet.check(host, ["sh", "-c", "systemctl daemon-reload && systemctl restart haproxy"])

    def state() -> dict[str, str]:
        leftovers = fleet.exec(host, ["sh", "-c", "ls /etc/haproxy/certs | grep -v '^[a-z]*.pem$'"])
        return {
            "site": serial(fleet, host.name, SITE),
            "fresh": serial(fleet, host.name, FRESH),
            "served": served(host.address, port),
            "files": " ".join(leftovers.stdout.split()),
        }

    project = CorralProject(path=base / "project", env={"CORRAL_HOME": str(base / "home")})
    project.path.mkdir()
    args = [
        "run", PLAYBOOK, "-i", str(fleet.inventory), "--output", "json",
        "-p", f"certs={SITE}, {FRESH}", "-p", f"ca_cert={ca / 'ca.crt'}",
        "-p", f"ca_key={ca / 'ca.key'}", "-p", "bundle=true", "-p", "service=haproxy",
        "-p", f"verify_port={port}", "-p", f"verify_address={host.address}",
        "-p", f"notify_url={hook.url_for('/hook')}",
    ]  # fmt: skip
    before = state()
    checked = project.run_subprocess(*args, "--check")
    after_check = state()
    # A config HAProxy refuses: its reload (which checks the config first) fails.
    fleet.write(host, "/etc/haproxy/haproxy.cfg", config + "    no-such-directive here\n")
    broken = project.run_subprocess(*args)
    after_broken = state()
    fleet.write(host, "/etc/haproxy/haproxy.cfg", config)
    renewed = project.run_subprocess(*args)
    after_renewal = state()
    again = project.run_subprocess(*args)
    return Renewals(
        hook_reports(hook, "cert-renew"), broken, after_broken, renewed, after_renewal,
        again, state(), before, checked, after_check,
    )  # fmt: skip


def test_a_failed_reload_puts_the_old_certificate_back(renewals: Renewals) -> None:
    broken = renewals.broken
    assert broken.exit_code == 2, broken.output
    assert "Traceback" not in broken.output
    failed = [e for e in results(broken) if e["status"] == "failed"]
    assert [e["task"] for e in failed] == ["Reload the service", "Fail the host"]
    assert (
        "the old certificates are back: /etc/haproxy/certs/site.pem" in failed[-1]["result"]["msg"]
    )
    after = renewals.after_broken
    assert after["site"] == renewals.before["site"]
    assert after["served"] == renewals.before["served"]
    assert after["files"] == ""  # no key, request or marker left behind
    rolled_back = renewals.sent[0]
    assert (rolled_back["status"], rolled_back["restored"]) == ("rolled back", [SITE])


def test_the_expiring_certificate_is_renewed_and_served_and_the_fresh_one_is_kept(
    renewals: Renewals,
) -> None:
    assert renewals.renewed.exit_code == 0, renewals.renewed.output
    before, after = renewals.before, renewals.after_renewal
    assert before["served"] == before["site"]
    assert after["site"] != before["site"]
    assert after["served"] == after["site"]  # HAProxy serves the new certificate
    assert after["fresh"] == before["fresh"]
    assert after["files"] == "site.pem.old"  # the old one, kept for a manual rollback
    assert [(r["status"], r["renewed"]) for r in renewals.sent[1:]] == [("renewed", [SITE])]
    assert [s.lstrip("0").upper() for s in renewals.sent[1]["serials"]] == [
        after["site"].lstrip("0").upper()
    ]


def test_a_second_run_changes_nothing(renewals: Renewals) -> None:
    again = renewals.again
    assert again.exit_code == 0, again.output
    assert changed_tasks(again) == []
    assert renewals.after_again == renewals.after_renewal


def test_check_mode_says_what_would_be_renewed_and_changes_nothing(renewals: Renewals) -> None:
    checked = renewals.checked
    assert checked.exit_code == 0, checked.output
    said = messages(checked, "Say what would be renewed")
    assert said == [f"would renew {SITE}"]
    assert renewals.after_check == renewals.before

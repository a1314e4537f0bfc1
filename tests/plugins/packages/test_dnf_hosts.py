"""The dnf and yum steps against a real dnf: Debian's own dnf and rpm packages, on a Debian host.

No RPM distribution can run here, but Debian packages dnf, rpm and createrepo-c: the test
installs them from Debian's archive (network), builds small RPMs with rpmbuild in the host,
indexes them with createrepo_c into a local repository, and lets the steps manage them
with dnf, in the rpm database, as on a RedHat host.
"""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from hosts import play

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.archive]

SPEC = """Name: {name}
Version: {version}
Release: 1
Summary: a corral test package
License: MIT
BuildArch: noarch
%description
a corral test package
%install
mkdir -p %{{buildroot}}/usr/share/corral-rpm
echo {version} > %{{buildroot}}/usr/share/corral-rpm/{name}
%files
/usr/share/corral-rpm/{name}
"""
REPO = "[corral]\nname=corral\nbaseurl=file:///srv/corral-rpms\ngpgcheck=0\nenabled=1\n"


def rpm_repo(fleet: DebianFleet) -> None:
    """dnf, rpm and createrepo_c from Debian's archive; three small RPMs in a local repository."""
    fleet.check("deb1", ["apt-get", "update", "-q"])
    fleet.check("deb1", ["apt-get", "install", "-y", "-q", "dnf", "rpm", "createrepo-c", "gpg"])
    for name, version in (("corral-r1", "1.0"), ("corral-r2", "1.0"), ("corral-r2", "2.0")):
        spec = f"/tmp/{name}-{version}.spec"
        fleet.write("deb1", spec, SPEC.format(name=name, version=version))
        fleet.check(
            "deb1",
            ["rpmbuild", "--define", "_topdir /tmp/rpmbuild", "--nodeps", "-bb", spec],
        )
    fleet.check("deb1", ["mkdir", "-p", "/srv/corral-rpms", "/etc/yum.repos.d"])
    fleet.check("deb1", ["sh", "-c", "cp /tmp/rpmbuild/RPMS/noarch/*.rpm /srv/corral-rpms/"])
    fleet.check("deb1", ["createrepo_c", "-q", "/srv/corral-rpms"])
    fleet.write("deb1", "/etc/yum.repos.d/corral.repo", REPO)


def rpms(fleet: DebianFleet) -> dict[str, str]:
    out = fleet.exec("deb1", ["rpm", "-qa", "--qf", "%{NAME} %{VERSION}\n"]).stdout
    return dict(line.split() for line in out.splitlines() if line.startswith("corral-"))


def test_dnf_installs_upgrades_and_removes_in_one_transaction_each(
    debian_fleet: FleetFactory, corral_project: CorralProject
) -> None:
    fleet = debian_fleet(1)
    assert play(corral_project, fleet.inventory, [{"name": "d", "dnf": {"name": "x"}}])[0] != 0
    rpm_repo(fleet)

    def run(step: str, args: dict[str, object], *options: str) -> dict[str, object]:
        task = {"name": "d", step: {"releasever": "1", **args}}
        code, results, output = play(corral_project, fleet.inventory, [task], *options)
        assert code == 0, output
        return results["d"]

    both = {"name": ["corral-r1", "corral-r2-1.0"]}
    assert run("dnf", both, "--check")["changed"] is True
    assert rpms(fleet) == {}
    assert run("dnf", both)["changed"] is True
    assert rpms(fleet) == {"corral-r1": "1.0", "corral-r2": "1.0"}
    assert run("dnf", both)["changed"] is False
    assert run("yum", {"name": ["corral-r1", "corral-r2"], "state": "latest"})["changed"] is True
    assert rpms(fleet) == {"corral-r1": "1.0", "corral-r2": "2.0"}
    assert run("dnf", {"name": "corral-r2", "state": "latest"})["changed"] is False
    assert run("dnf", {"name": ["corral-r1", "corral-r2"], "state": "absent"})["changed"] is True
    assert rpms(fleet) == {}

    bad = {"name": "d", "dnf": {"releasever": "1", "name": ["corral-r1", "corral-nope"]}}
    code, results, _ = play(corral_project, fleet.inventory, [bad])
    assert code != 0
    assert "corral-nope" in results["d"]["msg"]
    assert rpms(fleet) == {}
    # dnf5 runs dnf where no dnf5 is installed (Debian has dnf 4): the same command line.
    assert run("dnf5", {"name": "corral-r1"})["changed"] is True
    assert run("ansible.builtin.dnf5", {"name": "corral-r1"})["changed"] is False
    assert rpms(fleet) == {"corral-r1": "1.0"}
    check_rpm_key(fleet, corral_project)


def check_rpm_key(fleet: DebianFleet, project: CorralProject) -> None:
    """rpm_key with a key gpg makes on the host: import, again, check mode, fingerprint, erase."""
    fleet.check(
        "deb1",
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "corral-test", "rsa2048"],
    )
    fleet.check("deb1", ["sh", "-c", "gpg --armor --export corral-test > /root/key.asc"])
    listed = fleet.exec("deb1", ["gpg", "--with-colons", "--fingerprint", "corral-test"]).stdout
    fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr"))
    keyid = fingerprint[-8:].lower()

    def rpm_key(args: dict[str, object], *options: str) -> tuple[int, dict[str, object]]:
        task = {"name": "k", "rpm_key": args}
        code, results, _ = play(project, fleet.inventory, [task], *options)
        return code, results["k"]

    def keys() -> str:
        return fleet.exec("deb1", ["sh", "-c", "rpm -q gpg-pubkey || true"]).stdout

    code, result = rpm_key({"key": "/root/key.asc", "fingerprint": "0000 1111"})
    assert code == 2
    assert str(result["msg"]).startswith("The specified fingerprint, '{'00001111'}', does not")
    assert f"gpg-pubkey-{keyid}" not in keys()
    assert rpm_key({"key": "/root/key.asc", "fingerprint": fingerprint})[1]["changed"] is True
    assert f"gpg-pubkey-{keyid}" in keys()
    assert rpm_key({"key": "/root/key.asc"})[1]["changed"] is False
    absent = {"key": f"0x{keyid.upper()}", "state": "absent"}
    assert rpm_key(absent, "--check")[1]["changed"] is True
    assert f"gpg-pubkey-{keyid}" in keys()
    assert rpm_key(absent)[1]["changed"] is True
    assert f"gpg-pubkey-{keyid}" not in keys()
    code, result = rpm_key({"key": "/root/none.asc"})
    assert (code, result["msg"]) == (2, "Not a valid key /root/none.asc")

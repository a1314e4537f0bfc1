"""The apt step on a real Debian 12 host, installing from the tests' local repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from debian_hosts import DebianFleet, FleetFactory
from hosts import make_repo, play

from corral.testing import CorralProject

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fleet(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory
) -> DebianFleet:
    repo, _ = make_repo(tmp_path_factory.mktemp("apt"))
    fleet = module_debian_fleet(1, repo=repo)
    fleet.check("deb1", ["apt-get", "update", "-q"])  # each test may run alone
    return fleet


@pytest.fixture(scope="module")
def loose_deb(fleet: DebianFleet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("deb"))[1]


def installed(fleet: DebianFleet, *names: str) -> dict[str, str]:
    """name -> version of the ``names`` dpkg has installed."""
    out = fleet.exec(
        "deb1", ["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n", *names]
    )
    return {
        p[0]: p[1] for p in (line.split() for line in out.stdout.splitlines()) if p[2:] == ["ii"]
    }


def apt_runs(fleet: DebianFleet) -> list[str]:
    """The command lines apt-get recorded in /var/log/apt/history.log, one per transaction."""
    log = fleet.exec("deb1", ["cat", "/var/log/apt/history.log"]).stdout
    return [line.split(": ", 1)[1] for line in log.splitlines() if line.startswith("Commandline:")]


def test_a_package_list_is_one_transaction_and_a_second_run_changes_nothing(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    task = {
        "name": "abc",
        "apt": {"name": ["corral-a", "corral-b", "corral-c"], "update_cache": True},
    }
    before = len(apt_runs(fleet))
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert results["abc"]["changed"] is True
    assert isinstance(results["abc"]["cache_update_time"], int)
    assert installed(fleet, "corral-a", "corral-b", "corral-c") == {
        "corral-a": "1.0",
        "corral-b": "1.0",
        "corral-c": "1.0",
    }
    runs = apt_runs(fleet)[before:]
    assert len(runs) == 1
    assert all(f"corral-{x}" in runs[0] for x in "abc")
    task["apt"] = {"name": "corral-a,corral-b,corral-c"}  # the comma-separated form
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert results["abc"]["changed"] is False
    assert len(apt_runs(fleet)) == before + 1


def test_check_mode_reports_the_install_and_installs_nothing(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    task = {"name": "app", "apt": {"name": "corral-app"}}
    code, results, output = play(corral_project, fleet.inventory, [task], "--check", "--diff")
    assert code == 0, output
    assert results["app"]["changed"] is True
    assert results["app"]["diff"]["after"] == "corral-app\ncorral-dep\n"
    assert "corral-app" in results["app"]["diff"]["prepared"]
    assert installed(fleet, "corral-app", "corral-dep") == {}
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert results["app"]["changed"] is True
    assert installed(fleet, "corral-app", "corral-dep") == {
        "corral-app": "1.0",
        "corral-dep": "1.0",
    }


def test_an_unknown_name_fails_naming_it_and_installs_nothing(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    task = {"name": "bad", "apt": {"name": ["corral-conf", "corral-no-such-package"]}}
    code, results, _output = play(corral_project, fleet.inventory, [task])
    assert code != 0
    assert results["bad"]["failed"] is True
    assert "'corral-no-such-package'" in results["bad"]["msg"]
    assert "corral-conf" not in results["bad"]["msg"]
    assert installed(fleet, "corral-conf") == {}
    bad_spec = {"name": "bad", "apt": {"name": ["corral-conf", "corral-a=1=2"]}}
    code, results, _ = play(corral_project, fleet.inventory, [bad_spec])
    assert code != 0
    assert results["bad"]["msg"] == "invalid package spec: corral-a=1=2"
    assert installed(fleet, "corral-conf") == {}


def test_version_pins_latest_and_absent(fleet: DebianFleet, corral_project: CorralProject) -> None:
    def run(args: dict[str, object]) -> dict[str, object]:
        code, results, output = play(corral_project, fleet.inventory, [{"name": "v", "apt": args}])
        assert code == 0, output
        return results["v"]

    assert run({"name": "corral-ver=1.0"})["changed"] is True
    assert installed(fleet, "corral-ver") == {"corral-ver": "1.0"}
    assert run({"name": "corral-ver=1.*"})["changed"] is False  # 1.0 matches the pin
    assert run({"name": "corral-ver=1.1*"})["changed"] is True  # the best 1.1 version
    assert installed(fleet, "corral-ver") == {"corral-ver": "1.1"}
    assert run({"name": "corral-ver"})["changed"] is False  # present: any version
    assert run({"name": "corral-ver", "state": "latest"})["changed"] is True
    assert installed(fleet, "corral-ver") == {"corral-ver": "2.0"}
    assert run({"name": "corral-ver", "state": "latest"})["changed"] is False
    assert run({"name": "corral-ver=1.0", "allow_downgrade": True})["changed"] is True
    assert installed(fleet, "corral-ver") == {"corral-ver": "1.0"}
    assert run({"name": "corral-ver", "state": "absent"})["changed"] is True
    assert installed(fleet, "corral-ver") == {}
    assert run({"name": "corral-ver", "state": "absent"})["changed"] is False


def test_purge_removes_the_configuration_files(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = [
        {"name": "in", "apt": {"name": "corral-conf"}},
        {"name": "out", "apt": {"name": "corral-conf", "state": "absent"}},
        {"name": "purge", "apt": {"name": "corral-conf", "state": "absent", "purge": True}},
    ]
    code, results, output = play(corral_project, fleet.inventory, tasks)
    assert code == 0, output
    assert [results[t]["changed"] for t in ("in", "out", "purge")] == [True, True, True]
    assert fleet.exec("deb1", ["test", "-e", "/etc/corral-conf.conf"]).rc == 1
    status = fleet.exec("deb1", ["dpkg-query", "-W", "corral-conf"])
    assert status.rc != 0  # purged: dpkg no longer knows it


def test_a_deb_file_from_the_controller_is_installed_with_its_dependencies(
    fleet: DebianFleet, corral_project: CorralProject, loose_deb: Path
) -> None:
    task = {"name": "deb", "apt": {"deb": str(loose_deb)}}
    code, results, output = play(corral_project, fleet.inventory, [task], "--check")
    assert code == 0, output
    assert results["deb"]["changed"] is True
    assert installed(fleet, "corral-local") == {}
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert results["deb"]["changed"] is True
    assert installed(fleet, "corral-local", "corral-dep") == {
        "corral-local": "3.0",
        "corral-dep": "1.0",
    }
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert results["deb"]["changed"] is False


def test_cache_valid_time_skips_a_fresh_cache(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("deb1", ["apt-get", "update", "-q"])
    fleet.check("deb1", ["touch", "/var/lib/apt/lists"])
    task = {"name": "cache", "apt": {"update_cache": True, "cache_valid_time": 3600}}
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert results["cache"]["changed"] is False
    assert results["cache"]["cache_updated"] is False
    fleet.check("deb1", ["touch", "-d", "2 hours ago", "/var/lib/apt/lists"])
    code, results, output = play(corral_project, fleet.inventory, [task], "--check")
    assert results["cache"]["cache_updated"] is True  # stale: it would update
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    # apt-get update ran; the lists' time moves only when a list changed (as in Ansible).
    assert results["cache"]["changed"] is results["cache"]["cache_updated"]


def test_policy_rc_d_blocks_service_starts_while_installing(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    task = {"name": "svc", "apt": {"name": "corral-svc", "policy_rc_d": 101}}
    code, _results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert fleet.check("deb1", ["cat", "/var/lib/corral-svc"]) == "policy 101\n"
    assert fleet.exec("deb1", ["test", "-e", "/usr/sbin/policy-rc.d"]).rc == 1  # cleaned up


def test_the_package_step_uses_apt_on_debian(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    task = {"name": "pkg", "package": {"name": ["corral-b", "corral-dep"], "state": "present"}}
    fleet.check("deb1", ["apt-get", "remove", "-y", "-q", "corral-b"])
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert results["pkg"]["changed"] is True
    assert "corral-b" in installed(fleet, "corral-b")
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert results["pkg"]["changed"] is False


def test_dist_upgrade_and_autoremove(fleet: DebianFleet, corral_project: CorralProject) -> None:
    def run(args: dict[str, object], *options: str) -> dict[str, object]:
        code, results, output = play(
            corral_project, fleet.inventory, [{"name": "u", "apt": args}], *options
        )
        assert code == 0, output
        return results["u"]

    assert run({"name": "corral-ver=1.0"})["changed"] is True
    assert run({"upgrade": "dist"}, "--check")["changed"] is True
    assert installed(fleet, "corral-ver") == {"corral-ver": "1.0"}
    assert run({"upgrade": "dist"})["changed"] is True
    assert installed(fleet, "corral-ver") == {"corral-ver": "2.0"}
    assert run({"upgrade": "yes"})["changed"] is False

    # corral-dep came in as corral-app's dependency: once corral-app is gone, nothing needs it.
    fleet.check("deb1", ["apt-get", "remove", "-y", "-q", "corral-local"])  # it needs corral-dep
    fleet.check("deb1", ["apt-get", "install", "-y", "-q", "corral-app"])
    fleet.check("deb1", ["apt-mark", "auto", "corral-dep"])
    assert run({"name": "corral-app", "state": "absent"})["changed"] is True
    assert "corral-dep" in installed(fleet, "corral-dep")
    assert run({"autoremove": True})["changed"] is True
    assert installed(fleet, "corral-dep") == {}
    assert run({"autoremove": True})["changed"] is False


def test_apt_works_over_the_docker_connection_too(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    inventory = tmp_path / "docker.yml"
    host = {"ansible_host": fleet["deb1"].container_id, "docker_host": fleet.daemon.url}
    inventory.write_text(
        yaml.safe_dump({"debian": {"hosts": {"deb1": {"ansible_connection": "docker", **host}}}})
    )
    tasks = [{"name": "conf", "apt": {"name": "corral-conf"}}]
    code, results, output = play(corral_project, inventory, tasks)
    assert code == 0, output
    assert results["conf"]["changed"] is True
    assert "corral-conf" in installed(fleet, "corral-conf")
    code, results, output = play(corral_project, inventory, tasks)
    assert results["conf"]["changed"] is False
    tasks[0]["apt"]["state"] = "absent"
    code, results, output = play(corral_project, inventory, tasks)
    assert results["conf"]["changed"] is True
    assert installed(fleet, "corral-conf") == {}


def test_apt_runs_as_an_async_job(fleet: DebianFleet, corral_project: CorralProject) -> None:
    task = {"name": "bg", "apt": {"name": "corral-c", "state": "absent"}, "async": 300, "poll": 1}
    fleet.check("deb1", ["apt-get", "install", "-y", "-q", "corral-c"])
    code, results, output = play(corral_project, fleet.inventory, [task])
    assert code == 0, output
    assert results["bg"]["changed"] is True
    assert results["bg"]["ansible_job_id"]
    assert installed(fleet, "corral-c") == {}


def test_dpkg_selections_holds_and_releases_a_package(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    def held() -> list[str]:
        return fleet.exec("deb1", ["apt-mark", "showhold"]).stdout.split()

    install = {"name": "install b", "apt": {"name": "corral-b"}}
    hold = {"name": "hold", "dpkg_selections": {"name": "corral-b", "selection": "hold"}}
    release = {"name": "release", "dpkg_selections": {"name": "corral-b", "selection": "install"}}
    try:
        code, results, output = play(corral_project, fleet.inventory, [install, hold])
        assert code == 0, output
        assert results["hold"]["changed"] is True
        assert (results["hold"]["before"], results["hold"]["after"]) == ("install", "hold")
        assert "corral-b" in held()
        code, results, output = play(corral_project, fleet.inventory, [hold])
        assert code == 0, output
        assert results["hold"]["changed"] is False
        code, results, output = play(corral_project, fleet.inventory, [release], "--check")
        assert (code, results["release"]["changed"]) == (0, True), output
        assert "corral-b" in held()  # check mode left the hold
        code, results, output = play(corral_project, fleet.inventory, [release])
        assert (code, results["release"]["changed"]) == (0, True), output
        assert "corral-b" not in held()
        unknown = {"name": "hold", "dpkg_selections": {"name": "corral-nope", "selection": "hold"}}
        code, results, _ = play(corral_project, fleet.inventory, [unknown])
        assert code == 2
        assert results["hold"]["msg"] == (
            "Failed to find package 'corral-nope' to perform selection 'hold'."
        )
    finally:
        fleet.exec("deb1", ["apt-mark", "unhold", "corral-b"])

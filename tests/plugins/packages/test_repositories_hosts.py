"""apt_repository and deb822_repository on a real Debian host, with the tests' local repository."""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from hosts import make_repo, play
from pytest_httpserver import HTTPServer

from corral.testing import CorralProject

pytestmark = pytest.mark.slow

LINE = "deb [trusted=yes] file:/srv/corral-repo ./"
LIST = "/etc/apt/sources.list.d/corral-repo.list"
SOURCES = "/etc/apt/sources.list.d/corral-local.sources"
KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZtest\n-----END PGP PUBLIC KEY BLOCK-----\n"


@pytest.fixture(scope="module")
def fleet(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory
) -> DebianFleet:
    repo, _ = make_repo(tmp_path_factory.mktemp("repos"))
    fleet = module_debian_fleet(1, repo=repo)
    fleet.check("deb1", ["apt-get", "update", "-q"])
    return fleet


def candidate(fleet: DebianFleet, name: str) -> str:
    out = fleet.check("deb1", ["apt-cache", "policy", name])
    return next((line.split()[-1] for line in out.splitlines() if "Candidate:" in line), "")


def test_apt_repository_removes_and_adds_a_source_line(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    absent = {"name": "repo", "apt_repository": {"repo": LINE, "state": "absent"}}
    assert candidate(fleet, "corral-a") == "1.0"
    code, results, output = play(corral_project, fleet.inventory, [absent], "--check", "--diff")
    assert code == 0, output
    assert results["repo"]["changed"] is True
    assert results["repo"]["diff"]["before"] == f"{LINE}\n"
    assert fleet.check("deb1", ["cat", LIST]) == f"{LINE}\n"  # check mode left it
    code, results, output = play(corral_project, fleet.inventory, [absent])
    assert code == 0, output
    assert results["repo"]["changed"] is True
    assert fleet.exec("deb1", ["test", "-e", LIST]).rc == 1  # emptied, so deleted
    assert candidate(fleet, "corral-a") == ""  # the cache was updated: apt forgot it
    code, results, output = play(corral_project, fleet.inventory, [absent])
    assert results["repo"]["changed"] is False

    present = {"name": "repo", "apt_repository": {"repo": LINE, "filename": "corral-repo"}}
    code, results, output = play(corral_project, fleet.inventory, [present])
    assert code == 0, output
    assert results["repo"]["changed"] is True
    assert results["repo"]["sources_added"] == [LIST]
    assert fleet.check("deb1", ["cat", LIST]) == f"{LINE}\n"
    assert fleet.check("deb1", ["stat", "-c", "%a", LIST]).strip() == "644"
    assert candidate(fleet, "corral-a") == "1.0"
    code, results, output = play(corral_project, fleet.inventory, [present])
    assert results["repo"]["changed"] is False


def test_apt_repository_rejects_a_line_that_is_not_a_source(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    task = {"name": "bad", "apt_repository": {"repo": "http://example.org/debian main"}}
    code, results, _ = play(corral_project, fleet.inventory, [task])
    assert code != 0
    assert results["bad"]["msg"] == "Invalid repository string: http://example.org/debian main"


def test_deb822_repository_with_a_downloaded_key_and_then_apt_installs_from_it(
    fleet: DebianFleet, corral_project: CorralProject, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/key.asc").respond_with_data(KEY)
    repo = {
        "name": "Corral Local",
        "uris": ["file:/srv/corral-repo"],
        "suites": ["./"],
        "trusted": True,
    }
    keyed = {
        "name": "r",
        "deb822_repository": {**repo, "signed_by": httpserver.url_for("/key.asc")},
    }
    code, results, output = play(corral_project, fleet.inventory, [keyed])
    assert code == 0, output
    assert results["r"]["changed"] is True
    assert results["r"]["dest"] == SOURCES
    assert results["r"]["key_filename"] == "/etc/apt/keyrings/corral-local.asc"
    assert fleet.check("deb1", ["cat", "/etc/apt/keyrings/corral-local.asc"]) == KEY
    assert "Signed-By: /etc/apt/keyrings/corral-local.asc\n" in fleet.check(
        "deb1", ["cat", SOURCES]
    )
    code, results, output = play(corral_project, fleet.inventory, [keyed])
    assert results["r"]["changed"] is False

    # Unsigned, trusted, and the only source of the test packages: apt installs from it.
    fleet.check("deb1", ["rm", "-f", LIST, "/etc/apt/keyrings/corral-local.asc"])
    tasks = [
        {"name": "r", "deb822_repository": repo},
        {"name": "install", "apt": {"name": "corral-b", "update_cache": True}},
    ]
    code, results, output = play(corral_project, fleet.inventory, tasks)
    assert code == 0, output
    assert results["r"]["repo"] == (
        "X-Repolib-Name: Corral Local\nSuites: ./\nTrusted: yes\nTypes: deb\n"
        "URIs: file:/srv/corral-repo\n"
    )
    assert results["install"]["changed"] is True
    absent = {"name": "r", "deb822_repository": {"name": "Corral Local", "state": "absent"}}
    code, results, output = play(corral_project, fleet.inventory, [absent])
    assert results["r"]["changed"] is True
    assert fleet.exec("deb1", ["test", "-e", SOURCES]).rc == 1
    fleet.write("deb1", LIST, f"{LINE}\n")  # as the fleet had it

"""apt_key on a real Debian 12 host (which still has apt-key), with gpg from Debian's archive.

The key is made on the host with gpg; it is added from a file and from inline data,
listed as apt lists it, and removed, as Ansible's apt_key does each.
"""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from hosts import play

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.archive]


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    fleet = module_debian_fleet(1)
    fleet.check("deb1", ["apt-get", "update", "-q"])
    fleet.check("deb1", ["apt-get", "install", "-y", "-q", "gpg"])
    for name in ("corral-one", "corral-two"):
        fleet.check(
            "deb1", ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", name, "rsa2048"]
        )
        fleet.check("deb1", ["sh", "-c", f"gpg --armor --export {name} > /root/{name}.asc"])
    return fleet


def fingerprint(fleet: DebianFleet, name: str) -> str:
    listed = fleet.exec("deb1", ["gpg", "--with-colons", "--fingerprint", name]).stdout
    return next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr"))


def trusted(fleet: DebianFleet) -> str:
    return fleet.exec("deb1", ["apt-key", "list"]).stdout.replace(" ", "")


def apt_key(
    project: CorralProject, fleet: DebianFleet, args: dict[str, object], *options: str
) -> tuple[int, dict[str, object]]:
    code, results, _ = play(project, fleet.inventory, [{"name": "k", "apt_key": args}], *options)
    return code, results["k"]


def test_a_key_from_a_file_added_once_then_removed(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    print_ = fingerprint(fleet, "corral-one")
    code, added = apt_key(corral_project, fleet, {"file": "/root/corral-one.asc"})
    assert (code, added["changed"]) == (0, True), added
    assert added["fp"] == print_[-16:]
    assert added["short_id"] == print_[-8:]
    assert print_ in trusted(fleet)
    assert apt_key(corral_project, fleet, {"file": "/root/corral-one.asc"})[1]["changed"] is False
    absent = {"id": print_, "state": "absent"}
    assert apt_key(corral_project, fleet, absent, "--check")[1]["changed"] is True
    assert print_ in trusted(fleet)
    assert apt_key(corral_project, fleet, absent)[1]["changed"] is True
    assert print_ not in trusted(fleet)
    assert apt_key(corral_project, fleet, absent)[1]["changed"] is False


def test_inline_data_and_a_keyring_of_its_own(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    armored = fleet.exec("deb1", ["cat", "/root/corral-two.asc"]).stdout
    keyring = "/etc/apt/trusted.gpg.d/corral-two.gpg"
    args = {"data": armored, "keyring": keyring}
    assert apt_key(corral_project, fleet, args, "--check")[1]["changed"] is True
    assert fingerprint(fleet, "corral-two") not in trusted(fleet)
    code, added = apt_key(corral_project, fleet, args)
    assert (code, added["changed"]) == (0, True), added
    assert fingerprint(fleet, "corral-two") in trusted(fleet)
    assert apt_key(corral_project, fleet, args)[1]["changed"] is False


def test_bad_ids_and_sources_fail_as_ansible_says(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    code, result = apt_key(corral_project, fleet, {"id": "12345", "state": "absent"})
    assert (code, result["msg"]) == (2, "Invalid key_id")
    code, result = apt_key(corral_project, fleet, {"keyserver": "keys.example"})
    assert (code, result["msg"]) == (2, "Missing key_id, required with keyserver.")
    corral_project.write(
        "site.yml",
        "- hosts: all\n  tasks:\n    - apt_key: {file: /root/a.asc, data: x}\n",
    )
    checked = corral_project.run("check", "site.yml", "-i", str(fleet.inventory))
    assert checked.exit_code == 4
    assert "apt_key" in checked.stderr


def test_a_url_key_with_an_id_is_fetched_only_to_add_it(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path
) -> None:
    import functools
    import http.server
    import threading

    armored = fleet.exec("deb1", ["cat", "/root/corral-one.asc"]).stdout
    (tmp_path / "key.asc").write_text(armored)
    fetched: list[str] = []

    class Recording(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            fetched.append(self.path)

    handler = functools.partial(Recording, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/key.asc"
        args = {"url": url, "id": fingerprint(fleet, "corral-one")}
        code, added = apt_key(corral_project, fleet, args)
        assert (code, added["changed"]) == (0, True), added
        assert fetched == ["/key.asc"]
        assert apt_key(corral_project, fleet, args)[1]["changed"] is False
        assert fetched == ["/key.asc"]  # there already: not fetched again
    finally:
        server.shutdown()
        server.server_close()
        apt_key(corral_project, fleet, {"id": fingerprint(fleet, "corral-one"), "state": "absent"})

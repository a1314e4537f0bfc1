"""Reading apt-get's, dpkg-query's and apt-cache's output (text captured on Debian 12)."""

from __future__ import annotations

import pytest

from corral import StepFailed
from corral_plugins.packages.apt_repository import suggest_filename
from corral_plugins.packages.aptparse import (
    matching_version,
    parse_changes,
    parse_dpkg_query,
    parse_madison,
    prepared_diff,
    split_spec,
    unavailable_packages,
)
from corral_plugins.packages.deb822 import render, slug_of

INSTALL = """Reading package lists...
Building dependency tree...
Reading state information...
The following additional packages will be installed:
  corral-dep
The following NEW packages will be installed:
  corral-app corral-dep
The following packages will be upgraded:
  corral-ver
1 upgraded, 2 newly installed, 0 to remove and 3 not upgraded.
Inst corral-dep (1.0 corral-tests:./ [all])
Inst corral-app (1.0 corral-tests:./ [all])
"""


def test_a_spec_splits_into_name_and_version_pin() -> None:
    assert split_spec("corral-ver=1.2*") == ("corral-ver", "1.2*")
    assert split_spec("nginx") == ("nginx", None)
    for bad in ("a=1=2", "=1.0", "a="):
        with pytest.raises(StepFailed, match="invalid package spec"):
            split_spec(bad)


def test_dpkg_query_lines_say_what_is_installed() -> None:
    found = parse_dpkg_query(
        "corral-a\tcorral-a\t1.0\tii \nold\told\t2.0\trc \nlibx:amd64\tlibx\t3\tii \n"
    )
    assert found["corral-a"].installed
    assert found["corral-a"].version == "1.0"
    assert not found["old"].installed
    assert found["old"].config_files
    assert found["libx"].installed
    assert found["libx:amd64"].version == "3"


def test_a_wildcard_pin_picks_the_best_matching_version() -> None:
    available = parse_madison(
        "corral-ver |        2.0 | file:/srv/corral-repo ./ Packages\n"
        "corral-ver |        1.1 | file:/srv/corral-repo ./ Packages\n"
        "corral-ver |        1.0 | file:/srv/corral-repo ./ Packages\n"
    )
    assert available == {"corral-ver": ["2.0", "1.1", "1.0"]}
    assert matching_version(available["corral-ver"], "1.*") == "1.1"
    assert matching_version(available["corral-ver"], "3*") is None


def test_apt_get_output_gives_the_changes_and_the_summary() -> None:
    changes = parse_changes(INSTALL)
    assert changes.installed == ["corral-app", "corral-dep"]
    assert changes.upgraded == ["corral-ver"]
    assert changes.counts == {"upgraded": 1, "newly installed": 2, "to remove": 0}
    assert changes.changed
    assert changes.diff() == {
        "before": "corral-ver\n",
        "after": "corral-app\ncorral-dep\ncorral-ver\n",
    }
    nothing = parse_changes(
        "corral-a is already the newest version (1.0).\n"
        "0 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.\n"
    )
    assert not nothing.changed
    assert prepared_diff(INSTALL).startswith("The following additional packages")
    assert prepared_diff(INSTALL).endswith("3 not upgraded.")


def test_the_names_apt_get_could_not_find_are_reported() -> None:
    stderr = (
        "E: Unable to locate package no-such-package\n"
        "E: Package 'virtual-only' has no installation candidate\n"
        "E: Version '9.9' for 'corral-ver' was not found\n"
    )
    assert unavailable_packages(stderr) == ["no-such-package", "virtual-only", "corral-ver"]


def test_repository_file_names_are_made_as_ansible_makes_them() -> None:
    line = "deb [signed-by=/etc/apt/keyrings/x.asc] http://deb.example.org/debian bookworm main"
    assert suggest_filename(line) == "deb_example_org_debian"
    assert slug_of("Corral Local_Repo") == "corral-local-repo"
    text = render(
        {"name": "x", "types": ["deb"], "uris": ["file:/srv/r"], "suites": ["./"], "trusted": True}
    )
    # Fields in the order of the argument names, as Ansible writes them.
    assert text == "X-Repolib-Name: x\nSuites: ./\nTrusted: yes\nTypes: deb\nURIs: file:/srv/r\n"

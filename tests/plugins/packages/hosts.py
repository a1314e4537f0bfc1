"""Helpers for the package tests on real Debian hosts: the test repository and playbook runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from aptrepo import Package, build_deb, build_repo

from corral.testing import CorralProject

__all__ = ["REPO_PACKAGES", "make_repo", "play"]

REPO_PACKAGES = [
    Package("corral-a", files={"/usr/share/corral/a": "a\n"}),
    Package("corral-b", files={"/usr/share/corral/b": "b\n"}),
    Package("corral-c", files={"/usr/share/corral/c": "c\n"}),
    Package("corral-dep", files={"/usr/share/corral/dep": "dep\n"}),
    Package("corral-app", depends=["corral-dep"], files={"/usr/bin/corral-app": "#!/bin/sh\n"}),
    Package(
        "corral-conf",
        files={"/etc/corral-conf.conf": "x=1\n"},
        conffiles=["/etc/corral-conf.conf"],
    ),
    *(
        Package("corral-ver", v, files={"/usr/share/corral/ver": f"{v}\n"})
        for v in ("1.0", "1.1", "2.0")
    ),
    # Its postinst records what /usr/sbin/policy-rc.d answers (policy_rc_d writes one).
    Package(
        "corral-svc",
        postinst="#!/bin/sh\nif [ -x /usr/sbin/policy-rc.d ]; then /usr/sbin/policy-rc.d; "
        'echo "policy $?"; else echo none; fi > /var/lib/corral-svc\n',
    ),
]


def make_repo(directory: Path) -> tuple[Path, Path]:
    """The test repository, and (outside it) a .deb file for ``apt: deb=``."""
    repo = build_repo(directory / "repo", REPO_PACKAGES)
    loose = directory / "loose"
    loose.mkdir()
    deb = build_deb(Package("corral-local", "3.0", depends=["corral-dep"]), loose)
    return repo, deb


def play(
    project: CorralProject, inventory: Path, tasks: list[dict[str, Any]], *options: str
) -> tuple[int, dict[str, dict[str, Any]], str]:
    """Run ``tasks`` on every host (become: true); (exit code, results by task name, output)."""
    project.write(
        "site.yml",
        yaml.safe_dump(
            [{"hosts": "debian", "gather_facts": False, "become": True, "tasks": tasks}]
        ),
    )
    result = project.run("run", "site.yml", "-i", str(inventory), "--output", "json", *options)
    results = {
        event["task"]: event["result"]
        for event in result.json_lines()
        if event.get("event") == "task_result"
    }
    return result.exit_code, results, result.output

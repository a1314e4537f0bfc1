"""A 50-package install on one Debian host, in one apt-get transaction, through corral.

    .venv/bin/python bench/bench_packages.py [--packages 50]

Needs root (it starts a private dockerd and a Debian 12 container from tests/debian_hosts.py,
building the image with debootstrap on first use). The packages are tiny .deb files made by
tests/aptrepo.py in a local repository bind-mounted into the host, so the figure is corral's
and apt's own work, not a download. corral runs as a child process (start-up included):
first run (installs all of them: one `apt-get install`, checked in /var/log/apt/history.log),
then the second, idempotent run. Prints Markdown for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from _common import VENV_BIN, measure, table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from aptrepo import Package, build_repo
from debian_hosts import start_debian_fleet
from dockerd import DockerDaemon, build_test_image, start_dockerd, stop_dockerd, unmount_below


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=50)
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_packages needs root (dockerd, debootstrap)")
    work = Path(tempfile.mkdtemp(prefix="corral-bench-packages-"))
    base = Path(tempfile.mkdtemp(prefix="corral-dockerd-"))
    proc = None
    try:
        proc, url = start_dockerd(base)
        daemon = DockerDaemon(url=url, base=base)
        build_test_image(daemon)
        names = [f"corral-bulk-{i:03d}" for i in range(1, options.packages + 1)]
        packages = [Package(n, files={f"/usr/share/corral-bulk/{n}": f"{n}\n"}) for n in names]
        repo = build_repo(work / "repo", packages)
        fleet = start_debian_fleet(daemon, work / "fleet", 1, repo=repo)
        try:
            fleet.check("deb1", ["apt-get", "update", "-q"])
            playbook = [
                {
                    "hosts": "debian",
                    "gather_facts": False,
                    "become": True,
                    "tasks": [{"name": "bulk", "apt": {"name": names}}],
                }
            ]
            (work / "site.yml").write_text(yaml.safe_dump(playbook))
            argv = [str(VENV_BIN / "corral"), "run", "site.yml", "-i", str(fleet.inventory)]
            env = {"CORRAL_HOME": str(work / "corral-home")}
            first = measure("corral, first run (installs)", argv, cwd=work, env=env)
            second = measure("corral, second run (ok)", argv, cwd=work, env=env)
            listed = fleet.check("deb1", ["dpkg-query", "-W", "corral-bulk-*"]).splitlines()
            log = fleet.check("deb1", ["cat", "/var/log/apt/history.log"])
            runs = [line for line in log.splitlines() if line.startswith("Commandline:")]
            assert len(listed) == len(names), f"{len(listed)} of {len(names)} installed"
            assert len(runs) == 1, f"{len(runs)} apt-get transactions: {runs}"
        finally:
            fleet.stop()
        print(f"### {len(names)} packages on one Debian 12 host, one apt-get transaction\n")
        print(table([first, second]))
        print(f"\napt-get transactions on the host: {len(runs)}")
    finally:
        if proc is not None:
            stop_dockerd(proc)
        unmount_below(base)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

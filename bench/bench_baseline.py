"""The baseline playbook's second (idempotent) run: corral against ansible-playbook, in one run.

    .venv/bin/python bench/bench_baseline.py [--hosts 20] [--repeat 5]

Needs root: it starts a private dockerd and N Debian 12 containers with systemd
(tests/debian_hosts.py; the image is built with debootstrap on first use), reached over
SSH with sudo, installing from a local apt repository of stand-in packages
(tests/baseline_hosts.py), and the ansible.posix and community.general collections
(fetched once from PyPI, tests/ansible_extra_collections.py). The workload is
playbooks/provision-base.yml, unchanged: facts, ~15 tasks, 7 roles, loops.

The hosts are provisioned once by corral; then ansible-playbook and corral each run once
more (warm-up; both must report changed=0 on every host, so each tool agrees with what
the other left). Then the timed runs take turns, corral then ansible-playbook, ``--repeat``
times: each a child process (interpreter start-up included), wall time and peak RSS.
ansible-playbook runs tuned: pipelining on, forks = the number of hosts, its default
ControlPersist (60 s, so its SSH connections survive between its turns); corral with its
defaults. Prints a Markdown table (median and min-max) for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

from _common import VENV_BIN, Measurement, measure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from baseline_hosts import PLAYBOOK, ansible_env, build_baseline_repo, offline, write_vars
from debian_hosts import DebianFleet, start_debian_fleet
from dockerd import DockerDaemon, build_test_image, start_dockerd, stop_dockerd, unmount_below


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_baseline needs root (dockerd, debootstrap)")
    work = Path(tempfile.mkdtemp(prefix="corral-bench-baseline-"))
    base = Path(tempfile.mkdtemp(prefix="corral-dockerd-"))
    control = Path(tempfile.mkdtemp(prefix="cp-"))  # ssh's control sockets: a short path
    proc = None
    try:
        proc, url = start_dockerd(base)
        daemon = DockerDaemon(url=url, base=base)
        build_test_image(daemon)
        repo = build_baseline_repo(work / "repo", python_apt=True)
        fleet = start_debian_fleet(
            daemon, work / "fleet", options.hosts, systemd=True, repo=repo, prefix="base"
        )
        try:
            offline(fleet, python_apt=True)
            rows = bench(fleet, work, control, options.hosts, options.repeat)
        finally:
            fleet.stop()
        print(report(rows, options.hosts, options.repeat))
    finally:
        if proc is not None:
            stop_dockerd(proc)
        unmount_below(base)
        for path in (base, work, control):
            shutil.rmtree(path, ignore_errors=True)


def bench(
    fleet: DebianFleet, work: Path, control: Path, hosts: int, repeat: int
) -> dict[str, list[Measurement]]:
    extra = write_vars(work)
    corral_argv = [str(VENV_BIN / "corral"), "run", str(PLAYBOOK), "-i", str(fleet.inventory),
                   "-e", f"@{extra}"]  # fmt: skip
    corral_env = {"CORRAL_HOME": str(work / "corral-home")}
    ansible_argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory),
                    "-e", f"@{extra}", str(PLAYBOOK)]  # fmt: skip
    env = ansible_env(work / "ansible-home", forks=hosts)
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control)

    first = _changed([*corral_argv, "--output", "json"], work, corral_env, "corral")
    assert all(first.values()), f"the first run left hosts unchanged: {first}"
    ansible_json = {**env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    for tool, argv, tool_env in (
        ("ansible-playbook", ansible_argv, ansible_json),
        ("corral", [*corral_argv, "--output", "json"], corral_env),
    ):
        counts = _changed(argv, work, tool_env, tool)
        assert set(counts.values()) == {0}, f"{tool}'s warm-up run changed hosts: {counts}"

    rows: dict[str, list[Measurement]] = {"corral": [], "ansible-playbook": []}
    for _ in range(repeat):
        rows["corral"].append(measure("corral", corral_argv, cwd=work, env=corral_env))
        rows["ansible-playbook"].append(
            measure("ansible-playbook", ansible_argv, cwd=work, env=env)
        )
    for label, runs in rows.items():
        failed = [m.returncode for m in runs if m.returncode != 0]
        assert not failed, f"{label} exited {failed}"
    return rows


def _changed(argv: Sequence[str], cwd: Path, env: Mapping[str, str], tool: str) -> dict[str, int]:
    """Run once, verified: the number of changed tasks per host."""
    done = subprocess.run(
        argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True,
        timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"{tool} exited {done.returncode}: {done.stdout[-3000:]}{done.stderr}"
    )
    if tool == "corral":
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        recap = next(e for e in events if e["event"] == "recap")
        return {host: counts["changed"] for host, counts in recap["hosts"].items()}
    stats = json.loads(done.stdout)["stats"]
    return {host: counts["changed"] for host, counts in stats.items()}


def report(rows: dict[str, list[Measurement]], hosts: int, repeat: int) -> str:
    corral = statistics.median(m.seconds for m in rows["corral"])
    lines = [
        f"### provision-base.yml, second (idempotent) run, {hosts} Debian 12 hosts over SSH",
        "",
        f"{platform.python_version()}, corral {version('corral')}, "
        f"ansible-core {version('ansible-core')}; {repeat} turns; "
        "ansible-playbook: pipelining on, forks "
        f"{hosts}, ControlPersist 60 s",
        "",
        "| tool | median (s) | min-max (s) | peak RSS (MB) | vs corral |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, runs in rows.items():
        seconds = [m.seconds for m in runs]
        median = statistics.median(seconds)
        peak = max(m.peak_mb for m in runs)
        ratio = f"{median / corral:.1f}x" if corral else "-"
        lines.append(
            f"| {label} | {median:.2f} | {min(seconds):.2f}-{max(seconds):.2f} "
            f"| {peak:.0f} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Engine overhead and start-up, corral against ansible-playbook, in one run.

    .venv/bin/python bench/bench_engine.py [--hosts 1000] [--skip-ansible]

Workload (issue 5): N hosts on the local connection x 10 tasks of debug, set_fact
and assert (no process spawned), strategy linear; and a one-task playbook on
localhost for start-up, without and with fact gathering. Prints a Markdown table for
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import VENV_BIN, best_of, table

TASKS = """
- hosts: all
  gather_facts: false
  tasks:
    - debug: {msg: "hello {{ inventory_hostname }}"}
    - set_fact: {n: 1}
    - assert: {that: ["n == 1"]}
    - debug: {msg: "n is {{ n }}"}
    - set_fact: {m: "{{ n + 1 }}"}
    - assert: {that: ["m | int == 2"], quiet: true}
    - debug: {var: m}
    - set_fact: {label: "{{ inventory_hostname | upper }}"}
    - assert: {that: ["label | length > 0"], quiet: true}
    - debug: {msg: "{{ label }} done"}
"""
ONE_TASK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - debug: {msg: hi}
"""
WITH_FACTS = ONE_TASK.replace("gather_facts: false", "gather_facts: true")


def write_inventory(path: Path, hosts: int) -> None:
    lines = ["[fleet]"] + [f"host{i:05d} ansible_connection=local" for i in range(hosts)]
    lines += ["", "[fleet:vars]", "ansible_python_interpreter=" + str(VENV_BIN / "python")]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-ansible", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_inventory(work / "hosts.ini", args.hosts)
        (work / "site.yml").write_text(TASKS)
        (work / "one.yml").write_text(ONE_TASK)
        (work / "facts.yml").write_text(WITH_FACTS)
        (work / "local.ini").write_text(
            f"localhost ansible_connection=local ansible_python_interpreter={VENV_BIN / 'python'}\n"
        )
        env = {
            "CORRAL_HOME": str(work / "home"),
            "ANSIBLE_HOME": str(work / "ansible"),
            "ANSIBLE_LOCAL_TEMP": str(work / "atmp"),
            "NO_COLOR": "1",
        }
        corral = str(VENV_BIN / "corral")
        ansible = str(VENV_BIN / "ansible-playbook")
        rows = [
            best_of(
                args.repeat,
                "corral (json output)",
                [corral, "run", "site.yml", "-i", "hosts.ini", "--output", "json"],
                cwd=work,
                env=env,
            ),
            best_of(
                args.repeat,
                "corral (console output)",
                [corral, "run", "site.yml", "-i", "hosts.ini"],
                cwd=work,
                env=env,
            ),
        ]
        if not args.skip_ansible:
            rows.append(
                best_of(
                    1,
                    "ansible-playbook -f 100",
                    [ansible, "-i", "hosts.ini", "-f", "100", "site.yml"],
                    cwd=work,
                    env=env,
                )
            )
        host_tasks = args.hosts * 10
        print(f"## Engine overhead: {args.hosts} hosts x 10 tasks (local, no process spawned)\n")
        print(table(rows, baseline="corral (json output)"))
        best = rows[0]
        print(
            f"\ncorral: {best.seconds / host_tasks * 1000:.3f} ms per host-task"
            f" (wall time / {host_tasks})\n"
        )
        start = [
            best_of(5, "corral", [corral, "run", "one.yml", "-i", "local.ini"], cwd=work, env=env),
            best_of(5, "corral --version", [corral, "--version"], cwd=work, env=env),
            best_of(
                5,
                "corral, facts gathered",
                [corral, "run", "facts.yml", "-i", "local.ini"],
                cwd=work,
                env=env,
            ),
        ]
        if not args.skip_ansible:
            start.append(
                best_of(
                    3,
                    "ansible-playbook",
                    [ansible, "-i", "local.ini", "one.yml"],
                    cwd=work,
                    env=env,
                )
            )
            start.append(
                best_of(
                    3,
                    "ansible-playbook, facts gathered",
                    [ansible, "-i", "local.ini", "facts.yml"],
                    cwd=work,
                    env=env,
                )
            )
        print("## Start-up: one debug task on localhost (and with fact gathering)\n")
        print(table(start, baseline="corral"))


if __name__ == "__main__":
    main()

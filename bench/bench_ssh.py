"""The SSH fleet: corral against ansible-core, pyinfra and a raw paramiko floor, in one run.

    .venv/bin/python bench/bench_ssh.py [--sizes 10,50,100] [--repeat 1]
        [--skip ansible-defaults,...] [--simulated 10000]

Needs root (it starts the sshd hosts of tests/sshd.py) and pyinfra (`pip install -e
'.[bench]'`). Workload, as in the public pyinfra-performance benchmark, per host: create a
directory, upload a 1 KiB file, run `uname -a`, write a file with a shell command. N sshd
hosts on loopback addresses, each with its own host key; every tool logs in as the same
unprivileged user (empty home, no heavy ~/.bashrc) with the same key and checks host keys
against the same known_hosts. Each run writes under a fresh remote directory, so every
tool does the whole work. Every tool runs as a child process (interpreter start-up
included), timed wall-clock with its peak RSS.

Tools: corral (defaults); ansible-core with its defaults (forks 5, ControlPersist 60s, no
pipelining) and tuned (forks N, pipelining, ControlPersist); pyinfra (defaults, -y); and
the floor: a paramiko thread pool doing the four operations with nothing else (TCP_NODELAY
set). First, 10,000 simulated hosts with 50 ms round trips through corral's engine.
Prints Markdown for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import SIM_PLAYBOOK, VENV_BIN, Measurement, best_of, sim_inventory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sshd import SshdFleet, SshdHost, retire_test_user, start_fleet, unavailable_reason

REMOTE_ROOT = Path("/tmp/corral-bench-remote")
PAYLOAD = b"x" * 1024
TOOLS = ("floor", "corral", "pyinfra", "ansible-tuned", "ansible-defaults")

PLAYBOOK = """\
- hosts: fleet
  gather_facts: false
  tasks:
    - name: create a directory
      file: {path: "{{ base }}/{{ inventory_hostname }}", state: directory}
    - name: upload a file
      copy: {src: file.txt, dest: "{{ base }}/{{ inventory_hostname }}/file.txt"}
    - name: run uname
      command: uname -a
    - name: write a file with a shell command
      shell: "echo hello > {{ base }}/{{ inventory_hostname }}/shell.txt"
"""

PYINFRA_DEPLOY = """\
from pyinfra import host
from pyinfra.operations import files, server

where = f"{host.data.base}/{host.name}"
files.directory(name="create a directory", path=where)
files.put(name="upload a file", src="files/file.txt", dest=f"{where}/file.txt")
server.shell(name="run uname", commands=["uname -a"])
server.shell(name="write a file with a shell command", commands=[f"echo hello > {where}/shell.txt"])
"""

# The floor: the four operations on every host from a thread pool, with nothing else.
FLOOR = """\
import json, socket, sys, io
from concurrent.futures import ThreadPoolExecutor
import paramiko

spec = json.load(open(sys.argv[1]))
key = paramiko.PKey.from_path(spec["key"])

def run(chan_transport, command):
    chan = chan_transport.open_session()
    chan.exec_command(command)
    chan.makefile("rb").read()
    status = chan.recv_exit_status()
    chan.close()
    assert status == 0, command

def one(host):
    sock = socket.create_connection((host["address"], host["port"]), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=30)
    assert transport.get_remote_server_key().get_base64() == host["host_key"]
    transport.auth_publickey(spec["user"], key)
    where = spec["base"] + "/" + host["name"]
    run(transport, "mkdir -p " + where)
    sftp = paramiko.SFTPClient.from_transport(transport)
    sftp.putfo(io.BytesIO(b"x" * 1024), where + "/file.txt")
    sftp.close()
    run(transport, "uname -a")
    run(transport, "echo hello > " + where + "/shell.txt")
    transport.close()

with ThreadPoolExecutor(max_workers=len(spec["hosts"])) as pool:
    list(pool.map(one, spec["hosts"]))
"""


def versions() -> dict[str, str]:
    """The versions of everything measured, for RESULTS.md."""
    from importlib.metadata import version

    sshd = subprocess.run(["/usr/sbin/sshd", "-V"], capture_output=True, text=True, check=False)
    return {
        "python": platform.python_version(),
        "corral": version("corral"),
        "ansible-core": version("ansible-core"),
        "pyinfra": version("pyinfra"),
        "paramiko": version("paramiko"),
        "openssh": (sshd.stderr.strip().splitlines() or ["?"])[0],
        "kernel": platform.release(),
        "cpus": str(os.cpu_count()),
    }


class Bench:
    """One fleet, one work directory, and a way to run each tool against the first N hosts."""

    def __init__(self, fleet: SshdFleet, work: Path) -> None:
        self.fleet = fleet
        self.work = work
        self.home = work / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.known_hosts = self.home / ".ssh" / "known_hosts"
        self.known_hosts.write_text(fleet.known_hosts())
        (work / "files").mkdir()
        (work / "files" / "file.txt").write_bytes(PAYLOAD)
        (work / "site.yml").write_text(PLAYBOOK)
        (work / "deploy.py").write_text(PYINFRA_DEPLOY)
        (work / "floor.py").write_text(FLOOR)
        self.runs = 0

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "CORRAL_HOME": str(self.work / "corral-home"),
            "ANSIBLE_HOME": str(self.work / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(self.work / "ansible-tmp"),
            "NO_COLOR": "1",
            "SSH_AUTH_SOCK": "",
        }

    def fresh_base(self) -> str:
        """A new remote directory for one run, writable by the test user."""
        self.runs += 1
        base = REMOTE_ROOT / f"run{self.runs}"
        base.mkdir(parents=True)
        base.chmod(0o777)
        return str(base)

    def write_inventories(self, hosts: list[SshdHost], base: str) -> None:
        fleet = self.fleet
        lines = ["[fleet]"]
        for host in hosts:
            lines.append(f"{host.name} ansible_host={host.address} ansible_port={host.port}")
        common = f"-o UserKnownHostsFile={self.known_hosts}"
        lines += [
            "",
            "[fleet:vars]",
            f"ansible_user={fleet.user}",
            f"ansible_ssh_private_key_file={fleet.client_key}",
            f"ansible_ssh_common_args='{common}'",
            f"base={base}",
        ]
        (self.work / "hosts.ini").write_text("\n".join(lines) + "\n")
        entries = [
            (
                host.name,
                {
                    "ssh_hostname": host.address,
                    "ssh_port": host.port,
                    "ssh_user": fleet.user,
                    "ssh_key": str(fleet.client_key),
                    "ssh_known_hosts_file": str(self.known_hosts),
                    "base": base,
                },
            )
            for host in hosts
        ]
        (self.work / "inventory.py").write_text(f"fleet = {entries!r}\n")
        spec = {
            "key": str(fleet.client_key),
            "user": fleet.user,
            "base": base,
            "hosts": [
                {
                    "name": h.name,
                    "address": h.address,
                    "port": h.port,
                    "host_key": h.host_key_line.split()[1],
                }
                for h in hosts
            ],
        }
        (self.work / "floor.json").write_text(json.dumps(spec))

    def command(self, tool: str, n: int) -> list[str]:
        py, bin_ = sys.executable, VENV_BIN
        if tool == "floor":
            return [py, "floor.py", "floor.json"]
        if tool == "corral":
            return [str(bin_ / "corral"), "run", "site.yml", "-i", "hosts.ini"]
        if tool == "pyinfra":
            return [str(bin_ / "pyinfra"), "inventory.py", "deploy.py", "-y"]
        if tool == "ansible-defaults":
            return [str(bin_ / "ansible-playbook"), "-i", "hosts.ini", "site.yml"]
        if tool == "ansible-tuned":
            return [str(bin_ / "ansible-playbook"), "-i", "hosts.ini", "site.yml", "-f", str(n)]
        raise ValueError(tool)

    def tool_env(self, tool: str) -> dict[str, str]:
        env = self.env()
        if tool.startswith("ansible"):
            # A fresh, short control path directory per run: masters are never reused
            # across runs, and the socket paths stay under the 108-byte limit.
            env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = tempfile.mkdtemp(prefix="cbcp-", dir="/tmp")
        if tool == "ansible-tuned":
            env["ANSIBLE_PIPELINING"] = "True"
            env["ANSIBLE_SSH_ARGS"] = "-C -o ControlMaster=auto -o ControlPersist=60s"
        return env

    def measure(self, tool: str, hosts: list[SshdHost]) -> Measurement:
        """One run of ``tool`` on ``hosts``, in a fresh remote directory, checked afterwards."""
        base = self.fresh_base()
        self.write_inventories(hosts, base)
        env = self.tool_env(tool)
        argv = self.command(tool, len(hosts))
        try:
            result = best_of(1, tool, argv, cwd=self.work, env=env, timeout=1800)
        finally:
            stop_control_masters(env.get("ANSIBLE_SSH_CONTROL_PATH_DIR"))
        check_work(base, hosts, tool)
        return result

    def best(self, tools: list[str], hosts: list[SshdHost], repeat: int) -> dict[str, Measurement]:
        """The best of ``repeat`` runs per tool, interleaved so load changes hit all alike.

        ansible-core runs once: at N=100 with its defaults one run takes minutes.
        """
        runs: dict[str, list[Measurement]] = {tool: [] for tool in tools}
        for attempt in range(repeat):
            for tool in tools:
                if attempt == 0 or not tool.startswith("ansible"):
                    runs[tool].append(self.measure(tool, hosts))
        return {tool: min(found, key=lambda m: m.seconds) for tool, found in runs.items()}


def check_work(base: str, hosts: list[SshdHost], tool: str) -> None:
    """Every host's directory, upload and shell output must be there: no tool may skip work."""
    for host in hosts:
        where = Path(base) / host.name
        if (where / "file.txt").read_bytes() != PAYLOAD or not (where / "shell.txt").exists():
            raise SystemExit(f"{tool} did not do the work on {host.name}")


def stop_control_masters(directory: str | None) -> None:
    """End the ssh ControlPersist masters ansible left behind for this run (by PID)."""
    if not directory:
        return
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if args and args[0].endswith(b"ssh") and any(directory.encode() in a for a in args):
                os.kill(int(entry.name), signal.SIGTERM)
    shutil.rmtree(directory, ignore_errors=True)


def fleet_table(n: int, rows: dict[str, Measurement]) -> str:
    floor = rows.get("floor")
    corral = rows.get("corral")
    lines = [
        f"### N = {n} hosts ({n * 4} host-operations)",
        "",
        "| tool | wall time (s) | ms per host-op | x floor | corral faster by | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tool, m in rows.items():
        per_op = m.seconds / (n * 4) * 1000
        vs_floor = f"{m.seconds / floor.seconds:.2f}x" if floor else "-"
        faster = f"{m.seconds / corral.seconds:.1f}x" if corral and tool != "corral" else "-"
        lines.append(
            f"| {tool} | {m.seconds:.2f} | {per_op:.1f} | {vs_floor} | {faster} | {m.peak_mb:.0f} |"
        )
    return "\n".join(lines)


def simulated(hosts: int, forks: int, work: Path, repeat: int) -> list[tuple[str, Measurement]]:
    """corral over ``hosts`` simulated hosts with 50 ms round trips, 3 tasks, per output mode.

    Best of ``repeat``, the two output modes taking turns.
    """
    (work / "sim").mkdir()
    (work / "sim" / "hosts.ini").write_text(sim_inventory(hosts))
    (work / "sim" / "site.yml").write_text(SIM_PLAYBOOK)
    runs: dict[str, list[Measurement]] = {}
    for _ in range(repeat):
        for output in ("console", "json"):
            argv = ["run", "site.yml", "-i", "hosts.ini", "--forks", str(forks), "--output", output]
            env = {"CORRAL_HOME": str(work / f"sim-home-{output}")}
            m = best_of(1, output, [str(VENV_BIN / "corral"), *argv], cwd=work / "sim", env=env)
            runs.setdefault("corral " + " ".join(argv), []).append(m)
    return [(command, min(found, key=lambda m: m.seconds)) for command, found in runs.items()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip", default="", help="comma-separated tools to leave out")
    parser.add_argument("--simulated", type=int, default=10_000, help="simulated hosts (0: skip)")
    parser.add_argument("--simulated-forks", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tools = [t for t in TOOLS if t not in args.skip.split(",")]
    reason = unavailable_reason() if sizes else None
    if reason:
        raise SystemExit(f"cannot start sshd hosts: {reason}")
    shutil.rmtree(REMOTE_ROOT, ignore_errors=True)
    REMOTE_ROOT.mkdir(mode=0o755)
    fleet = start_fleet(max(sizes)) if sizes else None
    try:
        with tempfile.TemporaryDirectory(prefix="corral-bench-ssh-") as tmp:
            work = Path(tmp)
            print("## SSH fleet\n")
            print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "\n")
            # First, before ansible-core's hundreds of processes load the machine.
            if args.simulated:
                print(f"### {args.simulated} simulated hosts, 50 ms round trips, 3 tasks\n")
                found = simulated(args.simulated, args.simulated_forks, work, args.repeat)
                for command, m in found:
                    print(
                        f"- `{command}`: {m.seconds:.2f} s wall, "
                        f"{m.peak_mb:.0f} MB peak RSS, exit {m.returncode}"
                    )
                print(flush=True)
            if fleet is not None:
                bench = Bench(fleet, work)
                for n in sizes:
                    hosts = fleet.hosts[:n]
                    rows = bench.best(tools, hosts, args.repeat)
                    print(fleet_table(n, rows) + "\n", flush=True)
    finally:
        if fleet is not None:
            fleet.stop()
            retire_test_user()
        shutil.rmtree(REMOTE_ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The ssh connection against real sshd processes on loopback addresses.

One small fleet per module (see ``tests/sshd.py``): plain hosts, one without an SFTP
subsystem, and a jump host allowed to forward to one target only. Every test connects
as the non-root test user with ``$HOME`` pointing at an empty directory, so neither the
machine's ``~/.ssh`` nor an SSH agent takes part.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sshd import (
    SFTP_SERVER,
    TEST_USER,
    SshdFleet,
    SshdHost,
    keygen,
    module_fleet,
)

from corral import (
    MAKE_DIRS,
    Become,
    Connection,
    HostUnreachable,
    Secret,
    StepContext,
    StepFailed,
)
from corral_plugins.ssh.connection import SshConnection


def _more_hosts(fleet: SshdFleet) -> None:
    fleet.add_host("nosftp", sftp=False)
    # sftp-server as OpenSSH before 9.1 had it: no users-groups-by-id extension.
    old = {"Subsystem": f"sftp {SFTP_SERVER} -P users-groups-by-id"}
    fleet.add_host("oldsftp", options=old)
    fleet.add_host("victim")
    target = fleet["h03"]
    fleet.add_host("jump", options={"PermitOpen": f"{target.address}:{target.port}"})


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    environ = {"CORRAL_HOME": "{home}/corral"}
    with module_fleet(tmp_path_factory, 3, prepare=_more_hosts, environ=environ) as fleet:
        yield fleet


@pytest.fixture
def scratch(fleet: SshdFleet, request: pytest.FixtureRequest) -> Path:
    """A directory the test user can write in (on this machine, so the test can look)."""
    return fleet.scratch(request.node.name)


def connect(fleet: SshdFleet, name: str, **extra: Any) -> SshConnection:
    host = fleet[name]
    variables = {
        **fleet.host_vars(host),
        "corral_known_hosts": str(fleet.root / "known_hosts"),
        **extra,
    }
    return SshConnection(name, variables)


@pytest.fixture
def conn(fleet: SshdFleet) -> Iterator[SshConnection]:
    with connect(fleet, "h01") as opened:
        yield opened


def _gone(pattern: str, within: float = 15.0) -> bool:
    """Whether no process whose command line matches ``pattern`` is left (read from /proc)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(re.search(pattern, line) for line in _command_lines()):
            return True
        time.sleep(0.05)
    return False


def _command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                lines.append(
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
    return lines


# -- commands ------------------------------------------------------------------------


def test_is_a_connection_and_reports_the_server_version(conn: SshConnection) -> None:
    assert isinstance(conn, Connection)
    assert conn.server_version.startswith("SSH-2.0-OpenSSH")


def test_argv_is_passed_verbatim_and_strings_go_through_sh(conn: SshConnection) -> None:
    result = conn.run(["printf", "%s|", "a b", "$HOME", "*", "it's"])
    assert (result.rc, result.stdout, result.timed_out) == (0, "a b|$HOME|*|it's|", False)
    result = conn.run("echo one; echo two >&2; exit 3")
    assert (result.rc, result.stdout, result.stderr) == (3, "one\n", "two\n")
    assert conn.run(["no-such-program-here"]).rc == 127


def test_stdin_env_and_working_directory(conn: SshConnection, scratch: Path) -> None:
    result = conn.run("cat; echo $GREETING", stdin="input\n", env={"GREETING": "hi there"})
    assert result.stdout == "input\nhi there\n"
    assert conn.run(["pwd"], cwd=str(scratch)).stdout == f"{scratch}\n"
    missing = conn.run(["pwd"], cwd="/no/such/dir")
    assert missing.rc == 1
    assert "/no/such/dir" in missing.stderr
    with pytest.raises(StepFailed, match="invalid environment variable name"):
        conn.run(["true"], env={"BAD NAME": "x"})


def test_large_input_and_output_flow_both_ways(conn: SshConnection) -> None:
    data = os.urandom(3 << 20).hex()  # 6 MB of text, echoed back while it is still being sent
    result = conn.run(["cat"], stdin=data)
    assert result.rc == 0
    assert len(result.stdout) == len(data)
    assert result.stdout == data


def test_one_login_serves_every_command(fleet: SshdFleet, scratch: Path) -> None:
    log = fleet["h02"].log
    before = log.read_text().count("Accepted publickey")
    with connect(fleet, "h02") as conn:
        for _ in range(5):
            assert conn.run(["true"]).rc == 0
        conn.put(b"x", f"{scratch}/reuse")
        assert conn.stat(f"{scratch}/reuse") is not None
    assert log.read_text().count("Accepted publickey") == before + 1


def test_timeout_kills_the_remote_process_group(conn: SshConnection) -> None:
    started = time.monotonic()
    result = conn.run("sleep 61.25 & sleep 61.5; echo never", timeout=0.5)
    assert result.timed_out
    assert "never" not in result.stdout
    assert time.monotonic() - started < 30  # the 61 s command did not run to its end
    assert _gone("sleep 61.(25|5)"), "the command (or its background child) survived the timeout"
    assert conn.run(["true"]).rc == 0  # the connection is still good


def test_a_default_command_timeout_from_the_inventory(fleet: SshdFleet) -> None:
    with connect(fleet, "h02", corral_ssh_command_timeout="0.5") as conn:
        started = time.monotonic()
        assert conn.run(["sleep", "63"]).timed_out
        assert time.monotonic() - started < 30  # the 63 s command did not run to its end
        assert not conn.run(["sleep", "0.6"], timeout=5).timed_out  # the task's own wins


def test_timeout_under_become_kills_root_processes_too(conn: SshConnection) -> None:
    result = conn.run("sleep 62.25 & sleep 62.5", timeout=0.5, become=Become())
    assert result.timed_out
    assert _gone("sleep 62.(25|5)"), "a root process survived the timeout"


# -- become --------------------------------------------------------------------------


def test_become_root_without_a_password(conn: SshConnection) -> None:
    result = conn.run(["id", "-un"], become=Become())
    assert (result.rc, result.stdout) == (0, "root\n")
    result = conn.run(
        "cat; echo $TASK_VAR", stdin="fed\n", env={"TASK_VAR": "passed"}, become=Become()
    )
    assert result.stdout == "fed\npassed\n"


def test_become_with_a_password_never_puts_it_on_a_command_line(
    fleet: SshdFleet, conn: SshConnection
) -> None:
    become = Become(user="nobody", password=Secret(fleet.password))
    every_command_line = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done"
    result = conn.run(every_command_line, become=become)
    assert result.rc == 0, result.stderr
    assert "CORRAL-BECOME-" in result.stdout  # sudo's own command line is there...
    assert fleet.password not in result.stdout  # ...and the password is not on it
    assert fleet.password not in result.stderr
    assert conn.run(["id", "-un"], become=become).stdout == "nobody\n"


def test_become_failures_say_why(conn: SshConnection) -> None:
    with pytest.raises(StepFailed, match="sudo did not accept the become password"):
        conn.run(["true"], become=Become(user="nobody", password=Secret("wrong")))
    with pytest.raises(StepFailed, match="become failed: sudo: a password is required"):
        conn.run(["true"], become=Become(user="nobody"))
    with pytest.raises(StepFailed, match="become method 'su' is not supported"):
        conn.run(["true"], become=Become(user="nobody", method="su"))


def test_becoming_the_login_user_needs_no_sudo(fleet: SshdFleet, conn: SshConnection) -> None:
    assert conn.run(["id", "-un"], become=Become(user=fleet.user)).stdout == f"{fleet.user}\n"


# -- files ---------------------------------------------------------------------------


def test_put_stat_and_get(conn: SshConnection, scratch: Path, tmp_path: Path) -> None:
    dest = f"{scratch}/app.conf"
    assert conn.stat(dest) is None
    conn.put(b"port = 80\n", dest, mode=0o640)
    found = conn.stat(dest, checksum=True)
    assert found is not None
    assert found.is_file
    assert found.size == 10
    assert (found.mode & 0o7777) == 0o640
    assert found.checksum == hashlib.sha1(b"port = 80\n").hexdigest()
    conn.put(b"port = 81\n", dest)  # replacing keeps the mode
    again = conn.stat(dest)
    assert again is not None
    assert (again.mode & 0o7777) == 0o640
    conn.get(dest, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b"port = 81\n"
    assert sorted(p.name for p in scratch.iterdir()) == ["app.conf"]  # no temp files left


def test_a_put_after_a_command_keeps_the_mode_the_command_gave(
    conn: SshConnection, scratch: Path
) -> None:
    dest = f"{scratch}/made"
    assert conn.stat(dest) is None  # found missing...
    conn.run(["install", "-m", "600", "/dev/null", dest])  # ...then a command made it
    conn.put(b"new\n", dest)
    found = conn.stat(dest)
    assert found is not None
    assert (found.mode & 0o777) == 0o600
    assert (scratch / "made").read_bytes() == b"new\n"


def test_file_errors_fail_the_step(conn: SshConnection, tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="cannot write /root/nope: Permission denied"):
        conn.put(b"x", "/root/nope")
    with pytest.raises(StepFailed, match="cannot read /no/such/file"):
        conn.get("/no/such/file", tmp_path / "x")


def test_files_written_with_become_belong_to_the_become_user(
    conn: SshConnection, scratch: Path
) -> None:
    dest = f"{scratch}/owned"
    conn.put(b"root's\n", dest, become=Become())
    found = conn.stat(dest, checksum=True, become=Become())
    assert found is not None
    assert found.owner == "root"
    assert found.checksum == hashlib.sha1(b"root's\n").hexdigest()


def test_without_sftp_files_go_through_commands(
    fleet: SshdFleet, scratch: Path, tmp_path: Path
) -> None:
    with connect(fleet, "nosftp") as conn:
        dest = f"{scratch}/plain"
        conn.put(b"no sftp here\n", dest, mode=0o600)
        found = conn.stat(dest, checksum=True)
        assert found is not None
        assert (found.mode & 0o7777) == 0o600
        assert found.checksum == hashlib.sha1(b"no sftp here\n").hexdigest()
        conn.get(dest, tmp_path / "plain")
        assert (tmp_path / "plain").read_bytes() == b"no sftp here\n"
    assert "subsystem request for sftp" in fleet["nosftp"].log.read_text()


def test_stat_over_sftp_matches_stat_over_commands(fleet: SshdFleet, scratch: Path) -> None:
    (scratch / "file").write_text("content\n")
    (scratch / "file").chmod(0o640)
    (scratch / "link").symlink_to("file")
    (scratch / "orphan").write_text("")
    os.chown(scratch / "orphan", 54321, 54321)  # no name on the host: stat(1) says UNKNOWN
    paths = [str(scratch), *(f"{scratch}/{n}" for n in ("file", "link", "orphan", "missing"))]
    paths += ["/root/.bashrc", "/etc/hostname/not-a-dir"]
    with connect(fleet, "h01") as over_sftp, connect(fleet, "nosftp") as over_commands:
        for path in paths:
            for checksum in (False, True):
                expected = over_commands.stat(path, checksum=checksum)
                assert over_sftp.stat(path, checksum=checksum) == expected, path
    link = over_commands.stat(f"{scratch}/link")
    assert link is not None
    assert link.is_link
    assert link.link_target == "file"


def test_read_file_is_the_same_over_sftp_commands_become_and_the_fallback(
    fleet: SshdFleet, scratch: Path
) -> None:
    binary = bytes(range(256)) * 3  # not UTF-8: must come back byte for byte
    (scratch / "file").write_bytes(binary)
    (scratch / "link").symlink_to("file")
    (scratch / "dangling").symlink_to("gone")
    (scratch / "dir").mkdir()
    names = ("file", "link", "dangling", "dir", "missing")
    with connect(fleet, "h01") as over_sftp, connect(fleet, "nosftp") as over_commands:
        readers = {
            "sftp": over_sftp.read_file,
            "commands": over_commands.read_file,
            "become": lambda p: over_sftp.read_file(p, become=Become()),
            "fallback": lambda p: StepContext("h01", {}, _WithoutReadFile(over_sftp)).read_file(p),
        }
        for name in names:
            path = f"{scratch}/{name}"
            seen = {how: read(path) for how, read in readers.items()}
            for how, found in seen.items():
                assert found.data == (binary if name in ("file", "link") else b""), (how, name)
                assert (found.stat is None) == (name in ("dangling", "missing")), (how, name)
                # a symlink is followed: the result names the file it leads to
                assert found.path == f"{scratch}/{'gone' if name == 'dangling' else name}" or (
                    name == "link" and found.path == f"{scratch}/file"
                ), (how, name, found.path)
            stats = {how: found.stat for how, found in seen.items()}
            assert stats["sftp"] == stats["commands"] == stats["fallback"], name
        for unreadable in (over_sftp, over_commands):
            with pytest.raises(StepFailed, match="cannot read /etc/shadow"):
                unreadable.read_file("/etc/shadow")
        as_root = over_sftp.read_file("/etc/shadow", become=Become())
        assert as_root.stat is not None
        assert as_root.stat.owner == "root"
        assert b"root:" in as_root.data


class _WithoutReadFile(SshConnection):
    """The ssh connection as a connection without the read_file capability looks."""

    def __init__(self, conn: SshConnection) -> None:
        self.__dict__.update(conn.__dict__)

    capabilities = frozenset({MAKE_DIRS})


def test_owner_names_come_from_the_passwd_files_on_older_servers(
    fleet: SshdFleet, scratch: Path
) -> None:
    (scratch / "file").write_text("content\n")
    paths = [str(scratch), f"{scratch}/file", "/etc/hostname", "/tmp"]
    with connect(fleet, "oldsftp") as old, connect(fleet, "nosftp") as over_commands:
        for path in paths:
            found = old.stat(path)
            assert found is not None
            assert found == over_commands.stat(path), path
            assert found.owner in (fleet.user, "root")
        # The names were read from /etc/passwd and /etc/group, not asked of the server.
        assert old._sftp is not None
        assert old._sftp._files_read


def test_make_dirs_creates_parents_without_a_process(fleet: SshdFleet, scratch: Path) -> None:
    log = fleet["h01"].log
    with connect(fleet, "h01") as conn:
        conn.stat(str(scratch))  # SFTP is up
        sessions = log.read_text().count("Starting session")
        conn.make_dirs(f"{scratch}/a/b/c")
        conn.make_dirs(f"{scratch}/a/b/c/")  # already there: fine
        conn.make_dirs(f"{scratch}/a")
        assert log.read_text().count("Starting session") == sessions
    assert (scratch / "a" / "b" / "c").is_dir()


@pytest.mark.parametrize("host", ["h01", "nosftp"])
def test_make_dirs_failures_say_why(fleet: SshdFleet, scratch: Path, host: str) -> None:
    (scratch / "file").write_text("")
    with connect(fleet, host) as conn:
        with pytest.raises(StepFailed, match=r"cannot create directory /root/x.*Permission denied"):
            conn.make_dirs("/root/x/y")
        file = re.escape(f"{scratch}/file")
        with pytest.raises(StepFailed, match=f"cannot create directory {file}: .*exists"):
            conn.make_dirs(f"{scratch}/file")
        with pytest.raises(StepFailed, match=f"cannot create directory {file}(/sub)?: "):
            conn.make_dirs(f"{scratch}/file/sub")
        conn.make_dirs("/root/made", become=Become())
        assert conn.run(["stat", "-c", "%U", "/root/made"], become=Become()).stdout == "root\n"
        conn.run(["rmdir", "/root/made"], become=Become())


def test_a_50_mb_file_arrives_intact(conn: SshConnection, scratch: Path, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    with open(source, "wb") as handle:
        for _ in range(50):
            handle.write(os.urandom(1 << 20))
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    conn.put(source, f"{scratch}/big.bin")
    remote = conn.run(["sha256sum", f"{scratch}/big.bin"]).stdout.split()[0]
    assert remote == expected
    conn.get(f"{scratch}/big.bin", tmp_path / "back.bin")
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest() == expected


# -- host keys -------------------------------------------------------------------------


def _known(tmp_path: Path, text: str = "") -> str:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return str(path)


def test_an_unknown_key_is_refused_under_strict(fleet: SshdFleet, tmp_path: Path) -> None:
    conn = connect(fleet, "h01", corral_known_hosts=_known(tmp_path))
    with pytest.raises(HostUnreachable, match=r"host key for .* is not known") as caught:
        conn.open()
    assert "accept-new" in (caught.value.hint or "")


def test_accept_new_records_the_key_for_next_time(fleet: SshdFleet, tmp_path: Path) -> None:
    known = _known(tmp_path)
    with connect(fleet, "h01", corral_known_hosts=known, host_key_checking="accept-new") as conn:
        assert conn.run(["true"]).rc == 0
    host = fleet["h01"]
    assert Path(known).read_text() == host.known_hosts_line() + "\n"
    with connect(fleet, "h01", corral_known_hosts=known) as conn:  # strict now knows it
        assert conn.run(["true"]).rc == 0


def test_off_trusts_without_recording(fleet: SshdFleet, tmp_path: Path) -> None:
    known = _known(tmp_path)
    with connect(fleet, "h01", corral_known_hosts=known, ansible_host_key_checking=False) as conn:
        assert conn.run(["true"]).rc == 0
    assert Path(known).read_text() == ""


@pytest.mark.parametrize("policy", ["strict", "accept-new", "off"])
def test_a_changed_key_is_refused_under_every_policy(
    fleet: SshdFleet, tmp_path: Path, policy: str
) -> None:
    other = keygen(tmp_path / "other_key").split()
    host = fleet["h01"]
    known = _known(tmp_path, f"[{host.address}]:{host.port} {other[0]} {other[1]}\n")
    conn = connect(fleet, "h01", corral_known_hosts=known, host_key_checking=policy)
    with pytest.raises(HostUnreachable, match="has CHANGED") as caught:
        conn.open()
    assert "ssh-keygen -R" in (caught.value.hint or "")


def test_known_key_types_are_asked_for_first(fleet: SshdFleet, tmp_path: Path) -> None:
    host = fleet.add_host("twokeys")
    rsa = keygen(host.directory / "host_key_rsa", "rsa")
    host.config.write_text(host.config.read_text() + f"HostKey {host.directory / 'host_key_rsa'}\n")
    fleet.restart(host)
    kind, blob = rsa.split()[:2]
    known = _known(tmp_path, f"[{host.address}]:{host.port} {kind} {blob}\n")
    with connect(
        fleet, "twokeys", corral_known_hosts=known
    ) as conn:  # ed25519 is preferred otherwise
        assert conn.run(["true"]).rc == 0


# -- failures ----------------------------------------------------------------------------


def test_a_wrong_key_is_an_authentication_failure(fleet: SshdFleet, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger")
    conn = connect(fleet, "h01", ansible_ssh_private_key_file=str(tmp_path / "stranger"))
    with pytest.raises(
        HostUnreachable,
        match=rf"authentication as '{TEST_USER}' .* failed \(tried: key .*stranger \(rejected\)",
    ):
        conn.open()


def test_a_list_of_key_files_is_tried_in_order(fleet: SshdFleet, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger")
    keys = [str(tmp_path / "stranger"), str(fleet.client_key)]
    with connect(fleet, "h01", ansible_ssh_private_key_file=keys) as conn:
        assert conn.run(["true"]).rc == 0


def test_agent_keys_are_offered(
    fleet: SshdFleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        subprocess.run(["ssh-add", "-q", str(fleet.client_key)], env=env, check=True, timeout=10)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        with connect(fleet, "h01", ansible_ssh_private_key_file=None) as conn:
            assert conn.run(["true"]).rc == 0
        monkeypatch.delenv("SSH_AUTH_SOCK")
        with pytest.raises(HostUnreachable, match="nothing: no key, agent or password"):
            connect(fleet, "h01", ansible_ssh_private_key_file=None).open()
    finally:
        agent.kill()
        agent.wait(timeout=10)


def test_password_login(fleet: SshdFleet) -> None:
    good = connect(
        fleet, "h01", ansible_ssh_private_key_file=None, ansible_password=Secret(fleet.password)
    )
    with good:
        assert good.run(["id", "-un"]).stdout == f"{fleet.user}\n"
    bad = connect(fleet, "h01", ansible_ssh_private_key_file=None, ansible_password="wrong")
    with pytest.raises(HostUnreachable, match=r"tried: password \(rejected\)"):
        bad.open()


def test_refused_fails_at_once_and_retries_back_off(fleet: SshdFleet) -> None:
    closed = SshdHost("closed", fleet.next_address(), 22, fleet.root, "")
    variables = {**fleet.host_vars(closed), "ansible_port": "1"}
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="connection refused") as caught:
        SshConnection("closed", variables).open()
    assert time.monotonic() - started < 5, "it waited for the connect timeout (10 s)"
    assert "attempts" not in str(caught.value), "it was tried again"
    assert "is sshd running there?" in (caught.value.hint or "")
    started = time.monotonic()
    retried = {**variables, "corral_ssh_connect_retries": 2, "corral_ssh_retry_delay": 0.2}
    with pytest.raises(HostUnreachable, match=r"connection refused \(after 3 attempts\)"):
        SshConnection("closed", retried).open()
    assert time.monotonic() - started >= 0.6  # 0.2 s, then 0.4 s


def test_a_silent_server_times_out(fleet: SshdFleet) -> None:
    address = fleet.next_address()
    with socket.socket() as silent:  # accepts TCP (the kernel does) and never says a word
        silent.bind((address, 0))
        silent.listen()
        variables = {
            "ansible_host": address,
            "ansible_port": silent.getsockname()[1],
            "corral_ssh_connect_timeout": 1,
        }
        started = time.monotonic()
        with pytest.raises(HostUnreachable, match=r"SSH handshake with .* (timed out|failed)"):
            SshConnection("silent", variables).open()
        # The 1 s timeout given, not the default one (10 s), nor no timeout at all.
        assert time.monotonic() - started < 8


def test_a_server_dying_mid_command_makes_the_host_unreachable(fleet: SshdFleet) -> None:
    victim = fleet["victim"]
    conn = connect(fleet, "victim")
    conn.open()
    killer = threading.Timer(0.5, victim.kill)
    killer.start()
    started = time.monotonic()
    try:
        with pytest.raises(HostUnreachable, match="connection to victim lost"):
            conn.run(["sleep", "30"])
        # Seen when the connection dropped: not at the command's end (30 s), nor at the
        # first keepalive (15 s).
        assert time.monotonic() - started < 12
        killer.join()
        fleet.restart(victim)
        assert conn.run(["true"]).rc == 0  # the next use connects again
    finally:
        killer.join()
        conn.close()
        if victim.process is None:
            fleet.restart(victim)


# -- reaching the host -----------------------------------------------------------------


class _NoExecServer:
    """A paramiko SSH server that logs anyone in with a password and refuses every command."""

    def __init__(self) -> None:
        import paramiko

        self.key = paramiko.Ed25519Key.from_private_key_file(str(self._key_file()))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.transports: list[Any] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _key_file() -> Path:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="corral-noexec-")) / "key"
        keygen(path, "ed25519")
        return path

    def _serve(self) -> None:
        import paramiko

        class Refusing(paramiko.ServerInterface):
            def get_allowed_auths(self, username: str) -> str:
                return "password"

            def check_auth_password(self, username: str, password: str) -> int:
                return paramiko.AUTH_SUCCESSFUL

            def check_channel_request(self, kind: str, chanid: int) -> int:
                return paramiko.OPEN_SUCCEEDED

            def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
                return False

        with contextlib.suppress(OSError):
            while True:
                sock, _ = self.listener.accept()
                transport = paramiko.Transport(sock)
                transport.add_server_key(self.key)
                transport.start_server(server=Refusing())
                self.transports.append(transport)

    def close(self) -> None:
        self.listener.close()
        for transport in self.transports:
            transport.close()


def test_a_refused_command_fails_the_step_and_leaves_the_host_reachable() -> None:
    server = _NoExecServer()
    try:
        variables = {
            "ansible_host": "127.0.0.1",
            "ansible_port": server.port,
            "ansible_user": "anyone",
            "ansible_password": Secret("anything"),
            "host_key_checking": "off",
            "corral_ssh_look_for_keys": False,
            "corral_ssh_agent": False,
        }
        with SshConnection("noexec", variables) as conn:
            with pytest.raises(StepFailed, match="the server refused to run the command true"):
                conn.run(["true"])
            with pytest.raises(StepFailed, match="refused to run the command"):
                conn.run("echo again")
    finally:
        server.close()


def test_jump_host_forwards_to_the_target(fleet: SshdFleet) -> None:
    jump = fleet["jump"]
    via = f"{fleet.user}@{jump.address}:{jump.port}"
    with connect(fleet, "h03", corral_ssh_proxy_jump=via) as conn:
        assert conn.run(["echo", "through"]).stdout == "through\n"
    # The jump host may forward to h03 only: going to h02 through it must fail there.
    with pytest.raises(HostUnreachable, match=r"via jump host|administratively prohibited"):
        connect(fleet, "h02", corral_ssh_proxy_jump=via).open()


def test_ssh_config_supplies_name_port_user_key_and_jump(fleet: SshdFleet, tmp_path: Path) -> None:
    target, jump = fleet["h03"], fleet["jump"]
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host bastion\n  HostName {jump.address}\n  Port {jump.port}\n  User {fleet.user}\n\n"
        f"Host app\n  HostName {target.address}\n  Port {target.port}\n  User {fleet.user}\n"
        f"  IdentityFile {fleet.client_key}\n  ProxyJump bastion\n"
    )
    variables = {
        "corral_ssh_config": str(config),
        "corral_known_hosts": str(fleet.root / "known_hosts"),
        "ansible_ssh_common_args": f"-o IdentityFile={fleet.client_key} -o ControlPersist=60s",
    }
    with SshConnection("app", variables) as conn:
        assert conn.run(["id", "-un"]).stdout == f"{fleet.user}\n"

"""The local connection: commands, timeouts, become, and file transfer on this machine."""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from corral import Become, Connection, ConnectionType, Secret, StepFailed
from corral.posix import STAT_SCRIPT, parse_stat_output
from corral_plugins import local
from corral_plugins.local import LocalConnection


@pytest.fixture
def conn() -> LocalConnection:
    return LocalConnection("localhost")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes: it only waits to be reaped by its parent.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


# -- registration -------------------------------------------------------------


def test_registers_the_local_connection_type() -> None:
    found: list[ConnectionType] = []
    local.corral_register_connections(register=found.append)
    (local_type,) = found
    assert local_type.name == "local"
    assert "ansible.builtin.local" in local_type.aliases
    assert all(setting.description for setting in local_type.settings)
    made = local_type.connect("web01", {"ansible_become_exe": "/opt/sudo"})
    assert isinstance(made, Connection)
    assert made.host == "web01"
    assert isinstance(made, LocalConnection)
    assert made.become_exe == "/opt/sudo"


def test_open_and_close_as_a_context_manager_can_repeat() -> None:
    conn = LocalConnection()
    with conn as opened:
        assert opened.run(["true"]).rc == 0
    conn.close()


# -- run ----------------------------------------------------------------------------


def test_run_argv_passes_arguments_verbatim(conn: LocalConnection) -> None:
    result = conn.run(["printf", "%s|", "a b", "$HOME", "*"])
    assert result.rc == 0
    assert result.stdout == "a b|$HOME|*|"
    assert not result.timed_out


def test_run_string_goes_through_sh(conn: LocalConnection) -> None:
    result = conn.run("echo one; echo two >&2; exit 3")
    assert (result.rc, result.stdout, result.stderr) == (3, "one\n", "two\n")


def test_run_feeds_stdin_and_merges_env_over_the_environment(conn: LocalConnection) -> None:
    result = conn.run("cat; echo $CORRAL_T $PATH", stdin="input\n", env={"CORRAL_T": "set"})
    lines = result.stdout.splitlines()
    assert lines[0] == "input"
    assert lines[1].startswith("set ")
    assert lines[1].split(" ", 1)[1] == os.environ["PATH"]


def test_run_without_stdin_gives_the_command_an_empty_one(conn: LocalConnection) -> None:
    result = conn.run(["cat"], timeout=60)
    assert not result.timed_out, "cat waited for input"
    assert (result.rc, result.stdout) == (0, "")


def test_run_in_cwd(conn: LocalConnection, tmp_path: Path) -> None:
    assert conn.run(["pwd"], cwd=str(tmp_path)).stdout.strip() == str(tmp_path)


def test_run_reports_a_missing_cwd_as_a_failed_command(conn: LocalConnection) -> None:
    result = conn.run(["pwd"], cwd="/nonexistent/dir")
    assert result.rc != 0
    assert "cannot change directory to /nonexistent/dir" in result.stderr


def test_run_reports_a_missing_program_like_a_shell(conn: LocalConnection) -> None:
    result = conn.run(["corral-no-such-program"])
    assert result.rc == 127
    assert "corral-no-such-program" in result.stderr


def test_run_decodes_invalid_utf8_with_replacement(conn: LocalConnection) -> None:
    result = conn.run(["printf", "ok \\377\\n"])
    assert result.stdout == "ok \ufffd\n"


def test_timeout_kills_the_whole_process_group(conn: LocalConnection, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    started = time.monotonic()
    result = conn.run(f"sleep 30 & echo $! > {pidfile}; echo started; sleep 30", timeout=0.5)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert result.rc != 0
    assert result.stdout == "started\n"  # output before the kill is kept
    assert elapsed < 15  # the 30 s command did not run to its end
    background = int(pidfile.read_text())
    deadline = time.monotonic() + 15
    while _alive(background) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(background)


def test_connection_is_reusable_from_several_threads(conn: LocalConnection) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: conn.run(["echo", str(n)]).stdout, range(8)))
    assert results == [f"{n}\n" for n in range(8)]


# -- become -------------------------------------------------------------------------


def test_become_the_current_user_runs_without_sudo(tmp_path: Path) -> None:
    conn = LocalConnection(become_exe=str(tmp_path / "no-sudo-here"))
    result = conn.run(["id", "-un"], become=Become(user=getpass.getuser()))
    assert result.stdout.strip() == getpass.getuser()
    by_uid = conn.run(["id", "-u"], become=Become(user=str(os.geteuid())))
    assert by_uid.stdout.strip() == str(os.geteuid())


def test_become_another_user_without_sudo_installed_is_a_clear_error(tmp_path: Path) -> None:
    conn = LocalConnection(become_exe=str(tmp_path / "no-sudo-here"))
    with pytest.raises(StepFailed) as caught:
        conn.run(["id"], become=Become(user="corral-someone-else"))
    assert "not installed" in caught.value.message
    assert caught.value.hint is not None
    assert "ansible_become_exe" in caught.value.hint


def test_become_with_an_unsupported_method_is_a_clear_error() -> None:
    with pytest.raises(StepFailed, match="become method 'su'"):
        LocalConnection().run(["id"], become=Become(user="corral-someone-else", method="su"))


# A stand-in for sudo: parses sudo's options, prompts on stderr with the -p text,
# checks the password read from stdin (FAKE_SUDO_PASSWORD; empty = no password
# needed), records its argv, then runs the command. Real sudo is tested below.
FAKE_SUDO = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_SUDO_LOG"
nonint=0
while [ "$1" != "--" ]; do
  case "$1" in
    -p) prompt=$2; shift ;;
    -u) user=$2; shift ;;
    -n) nonint=1 ;;
  esac
  shift
done
shift
if [ -n "$FAKE_SUDO_PASSWORD" ]; then
  if [ "$nonint" = 1 ]; then echo "sudo: a password is required" >&2; exit 1; fi
  tries=0
  while :; do
    printf '%s' "$prompt" >&2
    read -r answer || exit 1
    [ "$answer" = "$FAKE_SUDO_PASSWORD" ] && break
    tries=$((tries + 1))
    echo "Sorry, try again." >&2
    [ "$tries" -ge 3 ] && { echo "sudo: 3 incorrect password attempts" >&2; exit 1; }
  done
fi
exec "$@"
"""


@pytest.fixture
def fake_sudo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "sudo"
    exe.write_text(FAKE_SUDO)
    exe.chmod(0o755)
    monkeypatch.setenv("FAKE_SUDO_LOG", str(tmp_path / "sudo-argv"))
    monkeypatch.setenv("FAKE_SUDO_PASSWORD", "s3cret pass")
    return exe


def test_sudo_password_goes_to_stdin_never_argv(fake_sudo: Path) -> None:
    conn = LocalConnection(become_exe=str(fake_sudo))
    become = Become(user="corral-someone-else", password=Secret("s3cret pass"))
    result = conn.run(
        ["sh", "-c", "cat; echo done >&2"], stdin=b"data for the command\n", become=become
    )
    assert result.rc == 0
    assert result.stdout == "data for the command\n"  # the password did not leak into stdin
    assert result.stderr == "done\n"  # sudo's prompt is not part of the command's output
    argv = (fake_sudo.parent / "sudo-argv").read_text()
    assert "s3cret" not in argv
    assert "corral-someone-else" in argv


def test_sudo_that_does_not_ask_leaves_stdin_untouched(
    fake_sudo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SUDO_PASSWORD", "")  # NOPASSWD, or a cached ticket
    conn = LocalConnection(become_exe=str(fake_sudo))
    become = Become(user="corral-someone-else", password=Secret("unused"))
    assert conn.run(["cat"], stdin="only this\n", become=become).stdout == "only this\n"


def test_sudo_passes_the_task_environment(fake_sudo: Path) -> None:
    conn = LocalConnection(become_exe=str(fake_sudo))
    become = Become(user="corral-someone-else", password=Secret("s3cret pass"))
    result = conn.run("echo $GREETING", env={"GREETING": "hi there"}, become=become)
    assert result.stdout == "hi there\n"


def test_a_wrong_sudo_password_is_a_clear_error(fake_sudo: Path) -> None:
    conn = LocalConnection(become_exe=str(fake_sudo))
    with pytest.raises(StepFailed, match="did not accept the become password"):
        conn.run(["true"], become=Become(user="corral-x", password=Secret("wrong")), timeout=5)


def test_sudo_needing_a_password_without_one_is_a_clear_error(fake_sudo: Path) -> None:
    conn = LocalConnection(become_exe=str(fake_sudo))
    with pytest.raises(StepFailed, match="a password is required"):
        conn.run(["true"], become=Become(user="corral-x"), timeout=5)


def test_sudo_command_timeout_kills_it(fake_sudo: Path) -> None:
    conn = LocalConnection(become_exe=str(fake_sudo))
    become = Become(user="corral-x", password=Secret("s3cret pass"))
    started = time.monotonic()
    result = conn.run(["sleep", "30"], timeout=0.5, become=become)
    assert result.timed_out
    assert time.monotonic() - started < 15  # the 30 s command did not run to its end


needs_root_and_sudo = pytest.mark.skipif(
    os.geteuid() != 0 or (shutil.which("sudo") is None and os.environ.get("CI") != "true"),
    reason="needs root and sudo (CI installs sudo)",
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can write to (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="corral-sudo-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


@needs_root_and_sudo
def test_real_sudo_runs_and_writes_as_another_user(shared_dir: Path, tmp_path: Path) -> None:
    conn = LocalConnection()
    nobody = Become(user="nobody")
    assert conn.run(["id", "-un"], become=nobody).stdout.strip() == "nobody"
    target = shared_dir / "owned"
    conn.put(b"written by nobody\n", str(target), become=nobody)
    st = target.stat()
    assert st.st_uid != 0
    assert stat.S_IMODE(st.st_mode) == 0o644
    described = conn.stat(str(target), checksum=True, become=nobody)
    assert described is not None
    assert described.owner == "nobody"
    assert described.checksum == hashlib.sha1(b"written by nobody\n").hexdigest()
    copy = tmp_path / "copy"
    conn.get(str(target), copy, become=nobody)
    assert copy.read_bytes() == b"written by nobody\n"


# -- put / get / stat ---------------------------------------------------------------


def test_put_writes_bytes_with_a_mode_and_leaves_no_temp_files(
    conn: LocalConnection, tmp_path: Path
) -> None:
    dest = tmp_path / "out.txt"
    conn.put(b"hello\n", str(dest), mode=0o640)
    assert dest.read_bytes() == b"hello\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_put_keeps_an_existing_files_mode_and_gives_new_files_the_umask_default(
    conn: LocalConnection, tmp_path: Path
) -> None:
    existing = tmp_path / "existing"
    existing.write_text("old")
    existing.chmod(0o600)
    conn.put(b"new", str(existing))
    assert existing.read_text() == "new"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh"
    conn.put(b"x", str(fresh))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_put_copies_a_local_file(conn: LocalConnection, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 100)
    conn.put(src, str(tmp_path / "dest.bin"))
    assert (tmp_path / "dest.bin").read_bytes() == src.read_bytes()


def test_put_into_a_missing_directory_is_a_step_failure(
    conn: LocalConnection, tmp_path: Path
) -> None:
    with pytest.raises(StepFailed, match="cannot write"):
        conn.put(b"x", str(tmp_path / "missing" / "file"))


def test_make_dirs_creates_parents_and_says_why_it_cannot(
    conn: LocalConnection, tmp_path: Path
) -> None:
    conn.make_dirs(str(tmp_path / "a" / "b"))
    conn.make_dirs(str(tmp_path / "a" / "b"))  # already there: fine
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(StepFailed, match="file: it exists and is not a directory"):
        conn.make_dirs(str(tmp_path / "file"))
    with pytest.raises(StepFailed, match="Not a directory"):
        conn.make_dirs(str(tmp_path / "file" / "sub"))


def test_make_dirs_as_another_user_goes_through_sudo(fake_sudo: Path, tmp_path: Path) -> None:
    conn = LocalConnection(become_exe=str(fake_sudo))
    become = Become(user="corral-someone-else", password=Secret("s3cret pass"))
    conn.make_dirs(str(tmp_path / "x" / "y"), become=become)
    assert (tmp_path / "x" / "y").is_dir()
    assert "mkdir" in (fake_sudo.parent / "sudo-argv").read_text()


def test_get_copies_to_the_controller(conn: LocalConnection, tmp_path: Path) -> None:
    (tmp_path / "remote").write_bytes(b"\x00binary\xff")
    conn.get(str(tmp_path / "remote"), tmp_path / "local")
    assert (tmp_path / "local").read_bytes() == b"\x00binary\xff"
    with pytest.raises(StepFailed, match="cannot read"):
        conn.get(str(tmp_path / "absent"), tmp_path / "local2")


def test_stat_describes_files_dirs_links_and_missing_paths(
    conn: LocalConnection, tmp_path: Path
) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"content")
    target.chmod(0o640)
    (tmp_path / "link").symlink_to("file")
    described = conn.stat(str(target), checksum=True)
    assert described is not None
    assert described.is_file
    assert not described.is_dir
    assert not described.is_link
    assert stat.S_IMODE(described.mode) == 0o640
    assert described.size == 7
    assert described.checksum == hashlib.sha1(b"content").hexdigest()
    assert described.owner == getpass.getuser()
    link = conn.stat(str(tmp_path / "link"), checksum=True)
    assert link is not None
    assert link.is_link
    assert not link.is_file
    assert link.link_target == "file"
    assert link.checksum is None
    directory = conn.stat(str(tmp_path))
    assert directory is not None
    assert directory.is_dir
    assert conn.stat(str(tmp_path / "missing")) is None
    assert conn.stat(str(target / "under-a-file")) is None


def test_parse_stat_output_reads_gnu_stat_lines() -> None:
    text = "81a4|12|0|0|root|root|1700000000\n\nda39a3ee5e6b4b0d3255bfef95601890afd80709\n"
    described = parse_stat_output("/etc/x", text)
    assert described.is_file
    assert stat.S_IMODE(described.mode) == 0o644
    assert described.checksum == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    link = parse_stat_output("/l", "a1ff|4|0|0|root|root|1\n/tmp\n")
    assert link.is_link
    assert link.link_target == "/tmp"


def test_the_become_stat_script_matches_python_on_this_machine(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("abc")
    out = subprocess.run(
        ["/bin/sh", "-c", STAT_SCRIPT, "stat", str(target), "1"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    parsed = parse_stat_output(str(target), out)
    direct = LocalConnection().stat(str(target), checksum=True)
    assert direct is not None
    assert (parsed.mode, parsed.size, parsed.owner, parsed.checksum) == (
        direct.mode,
        direct.size,
        direct.owner,
        direct.checksum,
    )


def test_read_file_follows_links_and_reads_bytes_directly_and_through_sudo(
    fake_sudo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_SUDO_PASSWORD", "")
    binary = bytes(range(256))
    (tmp_path / "file").write_bytes(binary)
    (tmp_path / "link").symlink_to("file")
    (tmp_path / "dangling").symlink_to("gone")
    conn = LocalConnection(become_exe=str(fake_sudo))
    someone = Become(user="corral-someone-else")
    for become in (None, someone):
        found = conn.read_file(str(tmp_path / "link"), become=become)
        assert (found.path, found.data) == (str(tmp_path / "file"), binary)
        direct = conn.stat(str(tmp_path / "file"))
        assert direct is not None
        assert found.stat is not None
        # stat(1) through sudo has whole seconds
        assert replace(found.stat, mtime=0) == replace(direct, mtime=0)
        gone = conn.read_file(str(tmp_path / "dangling"), become=become)
        assert (gone.path, gone.stat) == (str(tmp_path / "gone"), None)
        folder = conn.read_file(str(tmp_path), become=become)
        assert folder.stat is not None
        assert folder.stat.is_dir
        assert folder.data == b""
    assert "corral-someone-else" in (tmp_path / "sudo-argv").read_text()  # went through sudo

"""A file written with a restrictive ``mode`` is never readable by others, even half-written.

Issue 14, item 7: the SFTP upload created its temporary file with the server's default
mode (0644 under the usual umask) and chmod'ed it only after the last byte, so anyone on
the host could read, or open and keep reading, a ``mode: "0600"`` file while it was sent.
A watcher thread polls the destination directory during a large ``copy`` and records the
mode of every temporary file it sees; none may be group or world readable. Each route a
connection writes by is checked: SFTP, ``cat`` through sudo (ssh with become), the local
connection's own write, and the local connection through sudo.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import need
from sshd import SshdFleet, module_fleet

from corral.testing import CorralProject

SIZE = 48 << 20  # large enough that the write takes a while on a loaded machine
NAME = "secret.bin"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1) as fleet:
        yield fleet


class TempWatcher(threading.Thread):
    """Polls ``directory`` and records the mode of every temporary file for ``NAME``."""

    def __init__(self, directory: Path) -> None:
        super().__init__(daemon=True)
        self.directory = directory
        self.modes: dict[str, set[int]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                entries = list(os.scandir(self.directory))
            except OSError:
                continue
            for entry in entries:
                if entry.name == NAME or NAME not in entry.name:
                    continue
                try:
                    mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
                except OSError:
                    continue  # renamed away between the listing and the stat
                self.modes.setdefault(entry.name, set()).add(mode)
            self.done.wait(0.0005)

    def __enter__(self) -> TempWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join(timeout=10)


def copy_secret(
    corral_project: CorralProject,
    dest_dir: Path,
    inventory: str,
    *,
    become: str = "",
    size: int = SIZE,
) -> TempWatcher:
    """Copy a large file to ``dest_dir`` with mode 0600 while a watcher looks on."""
    corral_project.write("files/" + NAME, "")
    (corral_project.path / "files" / NAME).write_bytes(b"s" * size)
    corral_project.write("hosts.ini", inventory)
    corral_project.write(
        "site.yml",
        f"""
        - hosts: all
          gather_facts: false
          tasks:
            - name: send the secret
              copy: {{src: {NAME}, dest: {dest_dir / NAME}, mode: "0600"}}
              {become}
        """,
    )
    with TempWatcher(dest_dir) as watcher:
        result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    final = dest_dir / NAME
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    assert final.stat().st_size == size
    return watcher


def assert_never_readable_by_others(watcher: TempWatcher) -> None:
    assert watcher.modes, "the watcher never saw the temporary file: the test proved nothing"
    exposed = {
        name: sorted(f"{m:04o}" for m in modes)
        for name, modes in watcher.modes.items()
        if any(m & 0o077 for m in modes)
    }
    assert exposed == {}, f"temporary files readable by others while written: {exposed}"


def ssh_inventory(fleet: SshdFleet) -> str:
    return fleet.inventory_ini(fleet.hosts, corral_known_hosts=str(fleet.root / "known_hosts"))


def test_sftp_upload_creates_the_temp_file_with_the_final_mode(
    fleet: SshdFleet, corral_project: CorralProject, request: pytest.FixtureRequest
) -> None:
    scratch = fleet.scratch(request.node.name)
    watcher = copy_secret(corral_project, scratch, ssh_inventory(fleet))
    assert_never_readable_by_others(watcher)
    assert (scratch / NAME).stat().st_uid != 0  # written by the test user, over SFTP


def test_ssh_upload_through_sudo_keeps_the_temp_file_private(
    fleet: SshdFleet, corral_project: CorralProject, request: pytest.FixtureRequest
) -> None:
    scratch = fleet.scratch(request.node.name)
    # Smaller: through sudo the bytes go down the command's stdin, which is much slower.
    watcher = copy_secret(
        corral_project, scratch, ssh_inventory(fleet), become="become: true", size=SIZE // 8
    )
    assert_never_readable_by_others(watcher)
    assert (scratch / NAME).stat().st_uid == 0


def test_local_write_keeps_the_temp_file_private(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    watcher = copy_secret(corral_project, dest, "[all]\nlocalhost ansible_connection=local\n")
    assert_never_readable_by_others(watcher)


def test_local_write_through_sudo_keeps_the_temp_file_private(
    fleet: SshdFleet, corral_project: CorralProject, request: pytest.FixtureRequest
) -> None:
    need(os.geteuid() == 0 and Path("/usr/bin/sudo").exists(), "needs root and sudo")
    dest = fleet.scratch(request.node.name)  # a directory nobody may write in
    watcher = copy_secret(
        corral_project,
        dest,
        "[all]\nlocalhost ansible_connection=local\n",
        become="become: true\n              become_user: nobody",
    )
    assert_never_readable_by_others(watcher)
    assert (dest / NAME).stat().st_uid != 0

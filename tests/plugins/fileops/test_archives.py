"""unarchive and archive on real files, through their registered StepTypes."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from step_runner import make_render, registered_steps, run_step

from corral import StepContext, StepResult
from corral_plugins import fileops
from corral_plugins.local import LocalConnection

STEPS = registered_steps(fileops)
MTIME = 1_700_000_000


def run(name: str, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    return run_step(STEPS, name, ctx, args)


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    (tmp_path / "project" / "files").mkdir(parents=True)
    return StepContext(
        host="localhost",
        vars={},
        conn=LocalConnection(),
        render=make_render({}),
        search_paths=(tmp_path / "project",),
    )


def add(archive: tarfile.TarFile, name: str, data: bytes | None = None, **attrs: Any) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.mode = attrs.pop("mode", 0o755 if data is None else 0o644)
    for key, value in attrs.items():
        setattr(info, key, value)
    if data is None and info.type == tarfile.REGTYPE:
        info.type = tarfile.DIRTYPE
    info.size = len(data or b"")
    archive.addfile(info, io.BytesIO(data) if data is not None else None)


def make_tgz(path: Path, suffix: str = "gz") -> Path:
    with tarfile.open(path, f"w:{suffix}") as archive:
        add(archive, "app")
        add(archive, "app/bin")
        add(archive, "app/bin/run", b"#!/bin/sh\necho hi\n", mode=0o755)
        add(archive, "app/README", b"read me\n")
        add(archive, "app/docs/guide.txt", b"guide\n")
        add(archive, "app/current", type=tarfile.SYMTYPE, linkname="README")
    return path


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        out[str(path.relative_to(root))] = (st.st_mode, st.st_size, int(st.st_mtime))
    return out


@pytest.mark.parametrize("suffix", ["gz", "xz", "bz2"])
def test_unarchive_from_the_controller_then_idempotent(
    ctx: StepContext, tmp_path: Path, suffix: str
) -> None:
    archive = make_tgz(tmp_path / "project" / "files" / f"app.tar.{suffix}", suffix)
    dest = tmp_path / "dest"
    dest.mkdir()
    args = {"src": archive.name, "dest": str(dest), "list_files": True}
    first = run("unarchive", ctx, args)
    assert first.changed, first.msg
    assert first.data["handler"] == "TgzArchive"
    assert first.data["files"] == [
        "app/",
        "app/bin/",
        "app/bin/run",
        "app/README",
        "app/docs/guide.txt",
        "app/current",
    ]
    assert (dest / "app" / "bin" / "run").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert stat.S_IMODE((dest / "app" / "bin" / "run").stat().st_mode) == 0o755
    assert int((dest / "app" / "README").stat().st_mtime) == MTIME
    assert os.readlink(dest / "app" / "current") == "README"
    assert not [p for p in dest.iterdir() if p.name.startswith(".corral")]
    before = snapshot(dest)
    second = run("unarchive", ctx, args)
    assert not second.changed
    assert snapshot(dest) == before


def test_unarchive_repairs_a_changed_file_and_check_mode_reports_it(
    ctx: StepContext, tmp_path: Path
) -> None:
    archive = make_tgz(tmp_path / "app.tgz")
    dest = tmp_path / "dest"
    dest.mkdir()
    args = {"src": str(archive), "dest": str(dest), "remote_src": True}
    assert run("unarchive", ctx, args).changed
    (dest / "app" / "README").write_text("edited by hand\n")
    ctx.check_mode = True
    checked = run("unarchive", ctx, args)
    assert checked.changed
    assert (dest / "app" / "README").read_text() == "edited by hand\n"
    ctx.check_mode = False
    assert run("unarchive", ctx, args).changed
    assert (dest / "app" / "README").read_text() == "read me\n"


def test_unarchive_zip_with_include_exclude_and_mode(ctx: StepContext, tmp_path: Path) -> None:
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("site/index.html", "<h1>hi</h1>")
        zf.writestr("site/app.js", "alert(1)")
        zf.writestr("site/notes.md", "# notes")
    dest = tmp_path / "www"
    dest.mkdir()
    args = {
        "src": str(archive),
        "dest": str(dest),
        "remote_src": True,
        "include": ["site/*.html", "site/*.js"],
        "exclude": ["*.js"],
        "mode": "0640",
    }
    first = run("unarchive", ctx, args)
    assert first.changed
    assert first.data["handler"] == "ZipArchive"
    assert sorted(p.name for p in (dest / "site").iterdir()) == ["index.html"]
    assert stat.S_IMODE((dest / "site" / "index.html").stat().st_mode) == 0o640
    assert not run("unarchive", ctx, args).changed


def test_unarchive_keep_newer_and_creates(ctx: StepContext, tmp_path: Path) -> None:
    archive = make_tgz(tmp_path / "app.tgz")
    dest = tmp_path / "dest"
    (dest / "app").mkdir(parents=True)
    readme = dest / "app" / "README"
    readme.write_text("newer local edit\n")
    args = {"src": str(archive), "dest": str(dest), "remote_src": True, "keep_newer": True}
    assert run("unarchive", ctx, args).changed
    assert readme.read_text() == "newer local edit\n"
    assert (dest / "app" / "bin" / "run").exists()
    skipped = run("unarchive", ctx, {**args, "creates": str(readme)})
    assert not skipped.changed
    assert skipped.msg == f"skipped, since {readme} exists"


@pytest.mark.parametrize(
    ("name", "attrs", "reason"),
    [
        ("../escape.txt", {}, "would be extracted outside dest"),
        ("/etc/evil.conf", {}, "would be extracted outside dest"),
        ("app/../../escape.txt", {}, "would be extracted outside dest"),
    ],
)
def test_unarchive_refuses_members_outside_dest(
    ctx: StepContext, tmp_path: Path, name: str, attrs: dict[str, Any], reason: str
) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        add(tf, "fine.txt", b"fine\n")
        add(tf, name, b"pwned\n", **attrs)
    dest = tmp_path / "sub" / "dest"
    dest.mkdir(parents=True)
    result = run("unarchive", ctx, {"src": str(archive), "dest": str(dest), "remote_src": True})
    assert result.failed
    assert reason in result.msg
    assert list(dest.iterdir()) == []  # nothing half-done
    assert not (tmp_path / "sub" / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_unarchive_refuses_a_path_through_a_symlink_member(
    ctx: StepContext, tmp_path: Path
) -> None:
    archive = tmp_path / "evil.zip"
    with tarfile.open(archive, "w") as tf:
        add(tf, "etc", type=tarfile.SYMTYPE, linkname="/etc")
        add(tf, "etc/cron.d/evil", b"* * * * * root sh\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    result = run("unarchive", ctx, {"src": str(archive), "dest": str(dest), "remote_src": True})
    assert result.failed
    assert "goes through the symlink" in result.msg
    assert list(dest.iterdir()) == []


def test_unarchive_errors(ctx: StepContext, tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("not an archive")
    dest = tmp_path / "dest"
    dest.mkdir()
    bad = run("unarchive", ctx, {"src": str(plain), "dest": str(dest), "remote_src": True})
    assert bad.failed
    assert bad.msg.startswith('Failed to find handler for "')
    nodest = run(
        "unarchive", ctx, {"src": str(plain), "dest": str(tmp_path / "no"), "remote_src": True}
    )
    assert nodest.msg == f"dest '{tmp_path / 'no'}' must be an existing dir"
    local = run("unarchive", ctx, {"src": "missing.tgz", "dest": str(dest)})
    assert local.msg == "Could not find or access 'missing.tgz' on the controller"


# -- archive -----------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.log").write_text("beta\n")
    (root / "sub" / "c.txt").write_text("gamma\n")
    return root


@pytest.mark.parametrize(("fmt", "mode"), [("gz", "r:gz"), ("bz2", "r:bz2"), ("tar", "r:")])
def test_archive_a_directory_then_idempotent(
    ctx: StepContext, tmp_path: Path, data: Path, fmt: str, mode: str
) -> None:
    dest = tmp_path / f"data.{fmt}"
    args = {"path": [str(data)], "dest": str(dest), "format": fmt}
    first = run("archive", ctx, args)
    assert first.changed, first.msg
    with tarfile.open(dest, mode) as tf:
        assert sorted(tf.getnames()) == [
            "data",
            "data/a.txt",
            "data/sub",
            "data/sub/b.log",
            "data/sub/c.txt",
        ]
    assert first.data["arcroot"] == f"{tmp_path}/"
    assert first.data["dest_state"] == "archive"
    before = dest.read_bytes()
    time.sleep(0.01)
    os.utime(data / "a.txt")  # a new mtime, the same content
    second = run("archive", ctx, args)
    assert not second.changed
    assert dest.read_bytes() == before
    (data / "a.txt").write_text("changed\n")
    assert run("archive", ctx, args).changed


def test_archive_glob_excludes_and_zip(ctx: StepContext, tmp_path: Path, data: Path) -> None:
    dest = tmp_path / "out.zip"
    args = {
        "path": [f"{data}/*"],
        "dest": str(dest),
        "format": "zip",
        "exclude_path": [str(data / "sub" / "c.txt")],
        "exclusion_patterns": ["*.log"],
    }
    first = run("archive", ctx, args)
    assert first.changed, first.msg
    with zipfile.ZipFile(dest) as zf:
        assert sorted(n.rstrip("/") for n in zf.namelist()) == ["a.txt", "sub"]
    assert not run("archive", ctx, args).changed


def test_archive_compresses_a_single_file_and_removes_it(
    ctx: StepContext, tmp_path: Path, data: Path
) -> None:
    import gzip

    source = data / "a.txt"
    ctx.check_mode = True
    checked = run("archive", ctx, {"path": [str(source)], "remove": True})
    assert checked.changed
    assert source.exists()
    assert not Path(f"{source}.gz").exists()
    ctx.check_mode = False
    result = run("archive", ctx, {"path": [str(source)], "remove": True})
    assert result.changed
    assert result.data["dest"] == f"{source}.gz"
    assert result.data["dest_state"] == "compress"
    assert gzip.decompress(Path(f"{source}.gz").read_bytes()) == b"alpha\n"
    assert not source.exists()
    again = run("archive", ctx, {"path": [str(source)], "remove": True})
    assert not again.changed


def test_archive_errors(ctx: StepContext, tmp_path: Path, data: Path) -> None:
    several = run("archive", ctx, {"path": [str(data)]})
    assert several.failed
    assert "dest" in several.msg
    nothing = run(
        "archive", ctx, {"path": [str(tmp_path / "none*")], "dest": str(tmp_path / "x.gz")}
    )
    assert nothing.failed
    assert nothing.msg == "Error, no source paths were found"
    assert nothing.data["missing"] == [str(tmp_path / "none*")]


def test_unarchive_sets_the_owner_of_every_member(ctx: StepContext, tmp_path: Path) -> None:
    import pwd

    archive = make_tgz(tmp_path / "app.tgz")
    dest = tmp_path / "dest"
    dest.mkdir()
    args = {"src": str(archive), "dest": str(dest), "remote_src": True, "owner": "nobody"}
    assert run("unarchive", ctx, args).changed
    # Members only, as in Ansible: app/docs is made by tar for app/docs/guide.txt.
    members = [p for p in (dest / "app").rglob("*") if p.name != "docs"]
    assert {pwd.getpwuid(p.lstat().st_uid).pw_name for p in members} == {"nobody"}
    assert not run("unarchive", ctx, args).changed
    os.chown(dest / "app" / "README", 0, 0)
    assert run("unarchive", ctx, args).changed  # the attribute is fixed, nothing extracted
    assert pwd.getpwuid((dest / "app" / "README").stat().st_uid).pw_name == "nobody"

"""find, slurp and tempfile on real files, through their registered StepTypes."""

from __future__ import annotations

import base64
import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from step_runner import make_render, registered_steps, run_step

from corral import StepContext, StepResult
from corral_plugins import fileops
from corral_plugins.local import LocalConnection

STEPS = registered_steps(fileops)


def run(name: str, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    return run_step(STEPS, name, ctx, args)


@pytest.fixture
def ctx() -> StepContext:
    return StepContext(host="localhost", vars={}, conn=LocalConnection(), render=make_render({}))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "app" / "old").mkdir(parents=True)
    (root / ".cache").mkdir()
    (root / "a.log").write_text("started\nERROR disk full\n")
    (root / "b.txt").write_text("x" * 2048)
    (root / "app" / "c.log").write_text("ok\n")
    (root / "app" / "old" / "d.log").write_text("ERROR old\n")
    (root / ".hidden.log").write_text("secret\n")
    (root / ".cache" / "e.log").write_text("cached\n")
    (root / "link.log").symlink_to(root / "a.log")
    week_ago = time.time() - 8 * 86400
    os.utime(root / "app" / "old" / "d.log", (week_ago, week_ago))
    return root


def paths(result: StepResult, root: Path) -> list[str]:
    return [str(Path(f["path"]).relative_to(root)) for f in result.data["files"]]


def test_find_by_pattern_top_level_only(ctx: StepContext, tree: Path) -> None:
    result = run("find", ctx, {"paths": [str(tree)], "patterns": ["*.log"]})
    assert not result.changed
    assert paths(result, tree) == ["a.log"]  # links and hidden files are not files here
    assert result.data["matched"] == 1
    assert result.data["examined"] == 6  # every entry directly in the directory
    entry = result.data["files"][0]
    assert entry["size"] == len("started\nERROR disk full\n")
    assert entry["isreg"] is True
    assert entry["mode"] == f"{stat.S_IMODE((tree / 'a.log').stat().st_mode):04o}"
    assert entry["mtime"] == int((tree / "a.log").stat().st_mtime)


def test_find_recurse_hidden_depth_and_excludes(ctx: StepContext, tree: Path) -> None:
    every = run(
        "find", ctx, {"paths": [str(tree)], "patterns": ["*.log"], "recurse": True, "hidden": True}
    )
    assert paths(every, tree) == [
        ".cache/e.log",
        ".hidden.log",
        "a.log",
        "app/c.log",
        "app/old/d.log",
    ]
    shallow = run(
        "find",
        ctx,
        {
            "paths": [str(tree)],
            "patterns": ["*.log"],
            "recurse": True,
            "depth": 2,
            "excludes": ["c*"],
        },
    )
    # As in Ansible, hidden directories are still searched; only hidden names are left out.
    assert paths(shallow, tree) == [".cache/e.log", "a.log"]


def test_find_regex_age_size_type_and_contains(ctx: StepContext, tree: Path) -> None:
    regex = run(
        "find", ctx, {"paths": [str(tree)], "patterns": [r"^[ab]\.(log|txt)$"], "use_regex": True}
    )
    assert paths(regex, tree) == ["a.log", "b.txt"]
    old = run("find", ctx, {"paths": [str(tree)], "recurse": True, "age": "1w"})
    assert paths(old, tree) == ["app/old/d.log"]
    big = run("find", ctx, {"paths": [str(tree)], "size": "1k"})
    assert paths(big, tree) == ["b.txt"]
    dirs = run("find", ctx, {"paths": [str(tree)], "file_type": "directory", "recurse": True})
    assert paths(dirs, tree) == ["app", "app/old"]
    links = run("find", ctx, {"paths": [str(tree)], "file_type": "link"})
    assert paths(links, tree) == ["link.log"]
    errors = run("find", ctx, {"paths": [str(tree)], "recurse": True, "contains": "ERROR"})
    assert paths(errors, tree) == ["a.log", "app/old/d.log"]
    inside = run("find", ctx, {"paths": [str(tree)], "recurse": True, "contains": "disk"})
    assert paths(inside, tree) == []  # a line must match from its start, as in Ansible
    anywhere = run("find", ctx, {"paths": [str(tree)], "recurse": True, "contains": ".*disk"})
    assert paths(anywhere, tree) == ["a.log"]


def test_find_checksum_limit_and_missing_paths(ctx: StepContext, tree: Path) -> None:
    import hashlib

    result = run(
        "find",
        ctx,
        {
            "paths": [str(tree), str(tree / "nope")],
            "patterns": ["*.txt"],
            "get_checksum": True,
            "checksum_algorithm": "sha256",
        },
    )
    assert result.data["files"][0]["checksum"] == hashlib.sha256(b"x" * 2048).hexdigest()
    assert result.data["skipped_paths"] == {
        str(tree / "nope"): f"'{tree / 'nope'}' is not a directory"
    }
    assert result.msg == "Not all paths examined, check warnings for details"
    limited = run("find", ctx, {"paths": [str(tree)], "recurse": True, "limit": 2})
    assert limited.data["matched"] == 2
    assert limited.msg == "Limit of matches reached"


def test_find_bad_arguments_are_named(ctx: StepContext, tree: Path) -> None:
    assert "argument 'age'" in run("find", ctx, {"paths": [str(tree)], "age": "3 days"}).msg
    bad = run("find", ctx, {"paths": [str(tree)], "patterns": ["("], "use_regex": True})
    assert bad.failed
    assert "argument 'patterns'" in bad.msg


def test_slurp(ctx: StepContext, tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x00\xffbinary\n")
    result = run("slurp", ctx, {"src": str(blob)})
    assert base64.b64decode(result.data["content"]) == b"\x00\xffbinary\n"
    assert result.data["encoding"] == "base64"
    assert result.data["source"] == str(blob)
    assert not result.changed
    missing = run("slurp", ctx, {"path": str(tmp_path / "nope")})
    assert missing.failed
    assert missing.msg == f"File not found: {tmp_path / 'nope'}"
    directory = run("slurp", ctx, {"src": str(tmp_path)})
    assert directory.msg == f"Source is a directory and must be a file: {tmp_path}"


def test_tempfile_file_and_directory(ctx: StepContext, tmp_path: Path) -> None:
    made = run("tempfile", ctx, {"path": str(tmp_path), "prefix": "build.", "suffix": ".log"})
    assert made.changed
    path = Path(made.data["path"])
    assert path.parent == tmp_path
    assert path.name.startswith("build.")
    assert path.name.endswith(".log")
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert made.data["state"] == "file"
    other = run("tempfile", ctx, {"path": str(tmp_path), "prefix": "build.", "suffix": ".log"})
    assert other.data["path"] != made.data["path"]
    folder = run("tempfile", ctx, {"state": "directory", "path": str(tmp_path)})
    assert Path(folder.data["path"]).is_dir()
    assert Path(folder.data["path"]).name.startswith("ansible.")
    assert folder.data["mode"] == "0700"
    bad = run("tempfile", ctx, {"prefix": "a/b"})
    assert bad.failed
    assert bad.msg == "prefix must be a valid file name component, got 'a/b'"
    nowhere = run("tempfile", ctx, {"path": str(tmp_path / "missing")})
    assert nowhere.failed
    assert nowhere.msg.startswith("cannot create a temporary file")


def test_find_follow_descends_into_linked_directories(ctx: StepContext, tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (target / "inside.log").write_text("x\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(target)
    args: dict[str, Any] = {"paths": [str(root)], "recurse": True, "patterns": ["*.log"]}
    assert paths(run("find", ctx, args), root) == []
    assert paths(run("find", ctx, {**args, "follow": True}), root) == ["linked/inside.log"]

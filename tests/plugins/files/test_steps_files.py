"""copy, template, file and stat, run through their registered StepTypes on real files."""

from __future__ import annotations

import getpass
import hashlib
import os
import stat as stat_mod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from step_runner import make_render, registered_steps, run_step

from corral import StepContext, StepResult, TemplateError
from corral_plugins import files
from corral_plugins.local import LocalConnection

STEPS = registered_steps(files)


def run(name: str, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    return run_step(STEPS, name, ctx, args)


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    variables = {"app": "shop", "port": 8080, "workers": ["a", "b"]}
    return StepContext(
        host="localhost",
        vars=variables,
        conn=LocalConnection(),
        render=make_render(variables),
        search_paths=(tmp_path / "project",),
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "files").mkdir(parents=True)
    (root / "templates").mkdir()
    return root


def mode_of(path: Path) -> int:
    return stat_mod.S_IMODE(path.lstat().st_mode)


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# -- copy -------------------------------------------------------------------------------------


def test_copy_content_writes_then_is_idempotent(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "motd"
    first = run("copy", ctx, {"content": "welcome\n", "dest": str(dest), "mode": "0640"})
    assert first.changed
    assert not first.failed
    assert dest.read_text() == "welcome\n"
    assert mode_of(dest) == 0o640
    assert first.data["checksum"] == sha1(b"welcome\n")
    assert first.data["mode"] == "0640"
    assert first.data["size"] == 8
    assert first.data["owner"] == getpass.getuser()
    second = run("copy", ctx, {"content": "welcome\n", "dest": str(dest), "mode": "0640"})
    assert not second.changed
    assert second.msg == "content and attributes already as requested"
    assert second.data["checksum"] == first.data["checksum"]


def test_copy_fixes_only_the_mode_when_content_matches(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "conf"
    dest.write_text("same")
    dest.chmod(0o644)
    mtime = dest.stat().st_mtime_ns
    result = run("copy", ctx, {"content": "same", "dest": str(dest), "mode": 0o600})
    assert result.changed
    assert result.msg == "mode 0644 -> 0600"
    assert mode_of(dest) == 0o600
    assert dest.stat().st_mtime_ns == mtime  # not rewritten


def test_copy_replacing_content_keeps_the_old_mode(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "secret"
    dest.write_text("old")
    dest.chmod(0o600)
    assert run("copy", ctx, {"content": "new", "dest": str(dest)}).changed
    assert dest.read_text() == "new"
    assert mode_of(dest) == 0o600


def test_copy_check_mode_changes_nothing_and_shows_a_diff(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "app.conf"
    dest.write_text("port=80\n")
    ctx.check_mode = True
    ctx.diff = True
    result = run("copy", ctx, {"content": "port=8080\n", "dest": str(dest)})
    assert result.changed
    assert dest.read_text() == "port=80\n"
    assert result.diff == {
        "before_header": str(dest),
        "after_header": "dynamically generated",
        "before": "port=80\n",
        "after": "port=8080\n",
    }
    missing = run("copy", ctx, {"content": "x", "dest": str(tmp_path / "new")})
    assert missing.changed
    assert not (tmp_path / "new").exists()


def test_copy_diff_notes_binary_content(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "blob"
    dest.write_bytes(b"\x00\x01")
    ctx.diff = True
    result = run("copy", ctx, {"content": "text", "dest": str(dest)})
    assert result.diff is not None
    assert result.diff["dst_binary"] == 1
    assert result.diff["after"] == "text"


def test_copy_src_file_from_the_files_directory(
    ctx: StepContext, project: Path, tmp_path: Path
) -> None:
    (project / "files" / "app.ini").write_bytes(b"[app]\n")
    dest_dir = tmp_path / "etc"
    dest_dir.mkdir()
    result = run("copy", ctx, {"src": "app.ini", "dest": str(dest_dir)})
    assert (dest_dir / "app.ini").read_bytes() == b"[app]\n"
    assert result.data["dest"] == str(dest_dir / "app.ini")
    assert result.data["src"] == str(project / "files" / "app.ini")
    assert not run("copy", ctx, {"src": "app.ini", "dest": str(dest_dir) + "/"}).changed


def test_copy_to_a_path_ending_in_slash_creates_the_directory(
    ctx: StepContext, project: Path, tmp_path: Path
) -> None:
    (project / "files" / "run.sh").write_text("#!/bin/sh\n")
    dest = tmp_path / "new" / "bin"
    run("copy", ctx, {"src": "run.sh", "dest": f"{dest}/"})
    assert (dest / "run.sh").read_text() == "#!/bin/sh\n"


def test_copy_a_directory_recursively(ctx: StepContext, project: Path, tmp_path: Path) -> None:
    tree = project / "files" / "site"
    (tree / "css").mkdir(parents=True)
    (tree / "index.html").write_text("<h1>hi</h1>")
    (tree / "css" / "main.css").write_text("h1{}")
    dest = tmp_path / "www"
    itself = run("copy", ctx, {"src": "site", "dest": str(dest)})
    assert itself.changed
    assert (dest / "site" / "css" / "main.css").read_text() == "h1{}"
    contents = run("copy", ctx, {"src": "site/", "dest": str(dest / "flat")})
    assert (dest / "flat" / "index.html").read_text() == "<h1>hi</h1>"
    assert contents.changed
    again = run("copy", ctx, {"src": "site/", "dest": str(dest / "flat")})
    assert not again.changed
    (tree / "index.html").write_text("<h1>new</h1>")
    changed = run("copy", ctx, {"src": "site/", "dest": str(dest / "flat")})
    assert changed.data["changed_paths"] == [str(dest / "flat" / "index.html")]


def test_copy_backup_keeps_the_old_file(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "hosts"
    dest.write_text("old\n")
    result = run("copy", ctx, {"content": "new\n", "dest": str(dest), "backup": True})
    backup = Path(result.data["backup_file"])
    assert backup.read_text() == "old\n"
    assert backup.name.startswith("hosts.")
    assert backup.name.endswith("~")
    assert dest.read_text() == "new\n"


def test_copy_force_false_leaves_an_existing_file(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "local.conf"
    dest.write_text("edited by hand")
    result = run("copy", ctx, {"content": "default", "dest": str(dest), "force": False})
    assert not result.changed
    assert dest.read_text() == "edited by hand"


def test_copy_validate_guards_the_replacement(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "sudoers"
    dest.write_text("valid\n")
    args = {"content": "broken\n", "dest": str(dest), "validate": "grep -q valid %s"}
    rejected = run("copy", ctx, args)
    assert rejected.failed
    assert rejected.msg == "failed to validate"
    assert dest.read_text() == "valid\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sudoers"]  # no candidate left
    accepted = run("copy", ctx, {**args, "content": "still valid\n"})
    assert accepted.changed
    assert dest.read_text() == "still valid\n"


def test_copy_sets_the_owner(ctx: StepContext, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    dest = tmp_path / "owned"
    result = run("copy", ctx, {"content": "x", "dest": str(dest), "owner": "nobody"})
    assert result.data["owner"] == "nobody"
    assert not run("copy", ctx, {"content": "x", "dest": str(dest), "owner": "nobody"}).changed


def test_copy_failures_are_results(ctx: StepContext, tmp_path: Path) -> None:
    missing = run("copy", ctx, {"src": "nope.txt", "dest": str(tmp_path / "x")})
    assert missing.failed
    assert "Could not find or access 'nope.txt'" in missing.msg
    to_dir = run("copy", ctx, {"content": "x", "dest": str(tmp_path)})
    assert to_dir.failed
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["copy"].schema).validate({"dest": "/x"})


# -- template ---------------------------------------------------------------------------------


def test_template_renders_with_host_variables(
    ctx: StepContext, project: Path, tmp_path: Path
) -> None:
    (project / "templates" / "app.conf.j2").write_text(
        "# {{ ansible_managed }}\nname={{ app }}\nport={{ port }}\n"
        "{% for w in workers %}worker={{ w }}\n{% endfor %}"
    )
    dest = tmp_path / "app.conf"
    result = run("template", ctx, {"src": "app.conf.j2", "dest": str(dest), "mode": "0600"})
    assert result.changed
    assert dest.read_text() == ("# Ansible managed\nname=shop\nport=8080\nworker=a\nworker=b\n")
    assert mode_of(dest) == 0o600
    assert not run("template", ctx, {"src": "app.conf.j2", "dest": str(dest)}).changed


def test_template_keeps_the_trailing_newline(
    ctx: StepContext, project: Path, tmp_path: Path
) -> None:
    (project / "templates" / "port.j2").write_text("{{ port }}\n")
    run("template", ctx, {"src": "port.j2", "dest": str(tmp_path / "port")})
    assert (tmp_path / "port").read_text() == "8080\n"


def test_template_check_mode_and_diff(ctx: StepContext, project: Path, tmp_path: Path) -> None:
    (project / "templates" / "t.j2").write_text("app={{ app }}\n")
    dest = tmp_path / "t"
    dest.write_text("app=old\n")
    ctx.check_mode = True
    ctx.diff = True
    result = run("template", ctx, {"src": "t.j2", "dest": str(dest)})
    assert result.changed
    assert dest.read_text() == "app=old\n"
    assert result.diff is not None
    assert (result.diff["before"], result.diff["after"]) == ("app=old\n", "app=shop\n")
    assert result.diff["after_header"] == str(project / "templates" / "t.j2")


def test_template_errors(ctx: StepContext, project: Path, tmp_path: Path) -> None:
    assert run("template", ctx, {"src": "none.j2", "dest": str(tmp_path / "x")}).failed
    (project / "templates" / "bad.j2").write_text("{{ undefined_thing }}\n")
    with pytest.raises(TemplateError):
        run("template", ctx, {"src": "bad.j2", "dest": str(tmp_path / "x")})
    assert not (tmp_path / "x").exists()


# -- file -------------------------------------------------------------------------------------


def test_file_directory_creates_parents_then_says_it_exists(
    ctx: StepContext, tmp_path: Path
) -> None:
    path = tmp_path / "a" / "b" / "c"
    created = run("file", ctx, {"path": str(path), "state": "directory", "mode": "0750"})
    assert created.changed
    assert path.is_dir()
    assert mode_of(path) == 0o750
    assert created.data["state"] == "directory"
    assert created.data["mode"] == "0750"
    again = run("file", ctx, {"path": str(path), "state": "directory", "mode": "0750"})
    assert not again.changed
    assert again.msg == "directory exists"


def test_file_directory_over_a_file_fails(ctx: StepContext, tmp_path: Path) -> None:
    (tmp_path / "f").touch()
    result = run("file", ctx, {"path": str(tmp_path / "f"), "state": "directory"})
    assert result.failed
    assert "exists but is not a directory" in result.msg


def test_file_recurse_applies_mode_below(ctx: StepContext, tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f").write_text("x")
    (root / "link").symlink_to("sub")
    args = {"path": str(root), "state": "directory", "mode": "0700", "recurse": True}
    assert run("file", ctx, args).changed
    assert mode_of(root / "sub" / "f") == 0o700
    assert mode_of(root / "sub") == 0o700
    assert not run("file", ctx, args).changed


def test_file_absent_removes_trees_and_is_idempotent(ctx: StepContext, tmp_path: Path) -> None:
    tree = tmp_path / "old"
    (tree / "deep").mkdir(parents=True)
    (tree / "deep" / "f").touch()
    assert run("file", ctx, {"path": str(tree), "state": "absent"}).changed
    assert not tree.exists()
    again = run("file", ctx, {"path": str(tree), "state": "absent"})
    assert not again.changed
    assert again.msg == "path is already absent"


def test_file_touch_creates_and_updates(ctx: StepContext, tmp_path: Path) -> None:
    path = tmp_path / "stamp"
    assert run("file", ctx, {"path": str(path), "state": "touch", "mode": "0600"}).changed
    assert path.read_bytes() == b""
    assert mode_of(path) == 0o600
    os.utime(path, (1, 1))
    assert run("file", ctx, {"dest": str(path), "state": "touch"}).changed
    assert path.stat().st_mtime > 1


def test_file_state_file_sets_attributes_of_an_existing_file(
    ctx: StepContext, tmp_path: Path
) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(0o644)
    result = run("file", ctx, {"name": str(path), "mode": "0400"})
    assert result.changed
    assert mode_of(path) == 0o400
    assert run("file", ctx, {"path": str(path), "mode": "0400"}).msg == "file exists"
    missing = run("file", ctx, {"path": str(tmp_path / "nope"), "state": "file"})
    assert missing.failed
    assert missing.msg == f"file ({tmp_path / 'nope'}) is absent, cannot continue"


def test_file_link_creates_retargets_and_refuses_to_clobber(
    ctx: StepContext, tmp_path: Path
) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    current = tmp_path / "current"
    args = {"path": str(current), "src": "v1", "state": "link"}
    assert run("file", ctx, args).changed
    assert os.readlink(current) == "v1"
    same = run("file", ctx, args)
    assert not same.changed
    assert same.msg == "link already points to v1"
    assert run("file", ctx, {**args, "src": "v2"}).changed
    assert os.readlink(current) == "v2"
    plain = tmp_path / "plain"
    plain.write_text("data")
    refused = run("file", ctx, {"path": str(plain), "src": "v1", "state": "link"})
    assert refused.failed
    assert plain.read_text() == "data"
    forced = run("file", ctx, {"path": str(plain), "src": "v1", "state": "link", "force": True})
    assert forced.changed
    assert plain.is_symlink()


def test_file_link_to_a_missing_target_needs_force(ctx: StepContext, tmp_path: Path) -> None:
    args = {"path": str(tmp_path / "l"), "src": "/nonexistent/target", "state": "link"}
    assert run("file", ctx, args).failed
    assert run("file", ctx, {**args, "force": True}).changed
    assert os.readlink(tmp_path / "l") == "/nonexistent/target"


def test_file_hard_link(ctx: StepContext, tmp_path: Path) -> None:
    (tmp_path / "orig").write_text("x")
    args = {"path": str(tmp_path / "hard"), "src": str(tmp_path / "orig"), "state": "hard"}
    assert run("file", ctx, args).changed
    assert (tmp_path / "hard").stat().st_ino == (tmp_path / "orig").stat().st_ino
    assert not run("file", ctx, args).changed


def test_file_link_needs_src() -> None:
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["file"].schema).validate({"path": "/x", "state": "link"})
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["file"].schema).validate({"path": "/x", "dest": "/y"})


def test_file_check_mode_touches_nothing(ctx: StepContext, tmp_path: Path) -> None:
    ctx.check_mode = True
    ctx.diff = True
    new_dir = run("file", ctx, {"path": str(tmp_path / "d"), "state": "directory"})
    assert new_dir.changed
    assert not (tmp_path / "d").exists()
    assert new_dir.diff == {
        "before": {"path": str(tmp_path / "d"), "state": "absent"},
        "after": {"path": str(tmp_path / "d"), "state": "directory"},
    }
    (tmp_path / "keep").write_text("x")
    assert run("file", ctx, {"path": str(tmp_path / "keep"), "state": "absent"}).changed
    assert (tmp_path / "keep").exists()
    assert run("file", ctx, {"path": str(tmp_path / "keep"), "mode": "0000"}).changed
    assert mode_of(tmp_path / "keep") != 0
    linked = run("file", ctx, {"path": str(tmp_path / "l"), "src": "keep", "state": "link"})
    assert linked.changed
    assert not (tmp_path / "l").is_symlink()


# -- stat -------------------------------------------------------------------------------------


def test_stat_of_a_file(ctx: StepContext, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"payload")
    path.chmod(0o640)
    found = run("stat", ctx, {"path": str(path)}).data["stat"]
    assert found["exists"] is True
    assert found["isreg"] is True
    assert found["isdir"] is False
    assert found["islnk"] is False
    assert found["mode"] == "0640"
    assert found["size"] == 7
    assert found["checksum"] == sha1(b"payload")
    assert found["pw_name"] == getpass.getuser()
    assert (found["rusr"], found["wgrp"], found["roth"]) == (True, False, False)
    assert (
        "checksum" not in run("stat", ctx, {"path": str(path), "get_checksum": False}).data["stat"]
    )


def test_stat_of_a_missing_path(ctx: StepContext, tmp_path: Path) -> None:
    assert run("stat", ctx, {"path": str(tmp_path / "nope")}).data == {"stat": {"exists": False}}


def test_stat_of_a_link_with_and_without_follow(ctx: StepContext, tmp_path: Path) -> None:
    (tmp_path / "target").write_text("t")
    (tmp_path / "hop").symlink_to("target")
    (tmp_path / "link").symlink_to("hop")
    link = run("stat", ctx, {"path": str(tmp_path / "link")}).data["stat"]
    assert link["islnk"] is True
    assert link["lnk_target"] == "hop"
    assert link["lnk_source"] == str(tmp_path / "target")
    followed = run("stat", ctx, {"path": str(tmp_path / "link"), "follow": True}).data["stat"]
    assert followed["isreg"] is True
    assert followed["checksum"] == sha1(b"t")
    (tmp_path / "dangling").symlink_to("gone")
    dangling = run("stat", ctx, {"path": str(tmp_path / "dangling"), "follow": True})
    assert dangling.data == {"stat": {"exists": False}}


def test_stat_of_a_directory(ctx: StepContext, tmp_path: Path) -> None:
    found = run("stat", ctx, {"path": str(tmp_path)}).data["stat"]
    assert found["isdir"] is True
    assert "checksum" not in found


def test_copy_with_an_unsplittable_validate_fails_clearly(ctx: StepContext, tmp_path: Path) -> None:
    dest = tmp_path / "f"
    result = run("copy", ctx, {"content": "x", "dest": str(dest), "validate": "check '%s"})
    assert result.failed
    assert "cannot split validate" in result.msg
    assert not dest.exists()

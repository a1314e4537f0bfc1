"""lineinfile, blockinfile and replace on real files, through their registered StepTypes.

The forms Ansible users rely on are also compared with ansible-playbook in
tests/compat/playbooks/69_ to 73_; these tests pin what a comparison cannot see
(bytes on disk, modes, symlinks, bad input) and the errors' wording.
"""

from __future__ import annotations

import stat as stat_mod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from step_runner import make_render, registered_steps, run_step

from corral import StepContext, StepResult
from corral.testing import CorralProject
from corral_plugins import files
from corral_plugins.local import LocalConnection

STEPS = registered_steps(files)

SSHD_CONFIG = b"# sshd\nPort 22\n#PermitRootLogin yes\nUsePAM yes\n"


def run(name: str, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    return run_step(STEPS, name, ctx, args)


@pytest.fixture
def ctx() -> StepContext:
    return StepContext(
        host="localhost", vars={}, conn=LocalConnection(), render=make_render({}), diff=True
    )


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "sshd_config"
    path.write_bytes(SSHD_CONFIG)
    path.chmod(0o640)
    return path


def mode_of(path: Path) -> int:
    return stat_mod.S_IMODE(path.stat().st_mode)


# -- lineinfile -------------------------------------------------------------------------------


def test_lineinfile_replaces_the_matching_line_then_is_idempotent(
    ctx: StepContext, conf: Path
) -> None:
    args = {"path": str(conf), "regexp": "^#?PermitRootLogin", "line": "PermitRootLogin no"}
    first = run("lineinfile", ctx, args)
    assert (first.changed, first.msg) == (True, "line replaced")
    assert conf.read_bytes() == b"# sshd\nPort 22\nPermitRootLogin no\nUsePAM yes\n"
    assert mode_of(conf) == 0o640  # the rewrite keeps the mode
    assert first.diff == {
        "before": SSHD_CONFIG.decode(),
        "after": conf.read_text(),
        "before_header": f"{conf} (content)",
        "after_header": f"{conf} (content)",
    }
    assert first.as_dict()["backup"] == ""
    second = run("lineinfile", ctx, args)
    assert (second.changed, second.as_dict()["msg"]) == (False, "")


def test_lineinfile_check_mode_reports_and_writes_nothing(
    ctx: StepContext, conf: Path, tmp_path: Path
) -> None:
    ctx.check_mode = True
    result = run("lineinfile", ctx, {"path": str(conf), "line": "MaxAuthTries 3"})
    assert (result.changed, result.msg) == (True, "line added")
    assert result.diff is not None
    assert result.diff["after"].endswith("UsePAM yes\nMaxAuthTries 3\n")
    assert conf.read_bytes() == SSHD_CONFIG
    new = tmp_path / "dir" / "new"
    created = run("lineinfile", ctx, {"path": str(new), "line": "x", "create": True})
    assert created.changed
    assert not new.parent.exists()


def test_lineinfile_appends_a_newline_to_a_last_line_without_one(
    ctx: StepContext, tmp_path: Path
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a\nb")
    assert run("lineinfile", ctx, {"path": str(path), "line": "c"}).changed
    assert path.read_bytes() == b"a\nb\nc\n"


def test_lineinfile_backrefs_and_backup(ctx: StepContext, conf: Path) -> None:
    args = {
        "path": str(conf),
        "regexp": r"^Port (\d+)$",
        "line": r"Port \g<1>22",
        "backrefs": True,
        "backup": True,
    }
    result = run("lineinfile", ctx, args)
    assert result.changed
    assert b"Port 2222\n" in conf.read_bytes()
    backup = Path(result.as_dict()["backup"])
    assert backup.name.startswith("sshd_config.")
    assert backup.read_bytes() == SSHD_CONFIG
    missing_group = run("lineinfile", ctx, {**args, "line": r"Port \2"})
    assert missing_group.failed
    assert missing_group.msg == (
        "line: cannot fill in the backreferences: invalid group reference 2 at position 6"
    )
    unmatched = {**args, "regexp": "^Nothing (.*)", "line": r"X \1"}
    assert not run("lineinfile", ctx, unmatched).changed


def test_lineinfile_edits_the_file_a_symlink_points_to(ctx: StepContext, conf: Path) -> None:
    link = conf.parent / "link"
    link.symlink_to(conf.name)
    assert run("lineinfile", ctx, {"dest": str(link), "line": "X 1"}).changed
    assert link.is_symlink()
    assert conf.read_bytes().endswith(b"X 1\n")


def test_lineinfile_warns_about_an_empty_regexp(ctx: StepContext, conf: Path) -> None:
    result = run("lineinfile", ctx, {"path": str(conf), "regexp": "", "line": "only"})
    assert result.changed
    assert result.data["warnings"][0].startswith("The regular expression is an empty string")
    assert conf.read_bytes() == SSHD_CONFIG.replace(b"UsePAM yes", b"only")


def test_lineinfile_removes_lines_and_counts_them(ctx: StepContext, conf: Path) -> None:
    result = run("lineinfile", ctx, {"path": str(conf), "regexp": "^#", "state": "absent"})
    assert (result.changed, result.msg, result.data["found"]) == (True, "2 line(s) removed", 2)
    assert conf.read_bytes() == b"Port 22\nUsePAM yes\n"


def test_lineinfile_sets_the_mode_of_a_created_file(ctx: StepContext, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "new.conf"
    args = {"path": str(path), "line": "x=1", "create": True, "mode": "0600"}
    first = run("lineinfile", ctx, args)
    assert first.msg == "line added and ownership, perms or SE linux context changed"
    assert path.read_bytes() == b"x=1\n"
    assert mode_of(path) == 0o600
    assert not run("lineinfile", ctx, args).changed


def test_lineinfile_a_regexp_that_does_not_compile_writes_nothing(
    ctx: StepContext, conf: Path
) -> None:
    result = run("lineinfile", ctx, {"path": str(conf), "regexp": "^(Port", "line": "Port 2"})
    assert result.failed
    assert result.msg == (
        "regexp: invalid regular expression '^(Port': "
        "missing ), unterminated subpattern at position 1"
    )
    assert conf.read_bytes() == SSHD_CONFIG
    after = run("lineinfile", ctx, {"path": str(conf), "insertafter": "[", "line": "x"})
    assert after.failed
    assert after.msg.startswith("insertafter: invalid regular expression '['")


def test_a_rejected_validate_keeps_the_old_file_byte_for_byte(ctx: StepContext, conf: Path) -> None:
    before = conf.stat()
    result = run(
        "lineinfile",
        ctx,
        {
            "path": str(conf),
            "regexp": "^Port",
            "line": "Port 2222",
            "validate": "sh -c 'echo no port 2222 allowed >&2; exit 3' %s",
            "backup": True,
        },
    )
    assert result.failed
    assert result.msg == "failed to validate: rc:3 error:no port 2222 allowed"
    assert conf.read_bytes() == SSHD_CONFIG
    assert conf.stat().st_ino == before.st_ino  # not even rewritten with the same bytes
    assert sorted(p.name for p in conf.parent.iterdir()) == ["sshd_config"]  # no backup, no temp


def test_an_accepting_validate_sees_the_new_content(ctx: StepContext, conf: Path) -> None:
    args = {"path": str(conf), "line": "Banner none", "validate": "grep -q '^Banner none$' %s"}
    assert run("lineinfile", ctx, args).changed
    assert conf.read_bytes() == SSHD_CONFIG + b"Banner none\n"
    new = conf.parent / "sub" / "new.conf"
    rejected = run("lineinfile", ctx, {**args, "path": str(new), "create": True, "line": "x"})
    assert rejected.failed
    assert not new.parent.exists()  # no directory made for a file that was not written
    bad = run("lineinfile", ctx, {**args, "line": "y", "validate": "true"})
    assert bad.failed
    assert bad.msg == "validate must contain %s: true"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"line": "x", "insertafter": "a", "insertbefore": "b"}, "insertbefore|insertafter"),
        ({"line": "x", "regexp": "a", "search_string": "b"}, "regexp|search_string"),
        ({"line": "x", "search_string": "b", "backrefs": True}, "backrefs|search_string"),
        ({"line": "x", "backrefs": True}, "regexp is required with backrefs=true"),
        ({"regexp": "x"}, "line is required with state=present"),
        ({"state": "absent"}, "one of line, search_string, or regexp is required"),
    ],
)
def test_lineinfile_bad_argument_combinations(
    ctx: StepContext, conf: Path, args: dict[str, Any], message: str
) -> None:
    result = run("lineinfile", ctx, {"path": str(conf), **args})
    assert result.failed
    assert message in result.msg
    assert conf.read_bytes() == SSHD_CONFIG


def test_lineinfile_on_a_directory_or_missing_file_fails(ctx: StepContext, tmp_path: Path) -> None:
    directory = run("lineinfile", ctx, {"path": str(tmp_path), "line": "x"})
    assert (directory.failed, directory.msg) == (True, f"Path {tmp_path} is a directory !")
    missing = run("lineinfile", ctx, {"path": str(tmp_path / "no"), "line": "x"})
    assert (missing.failed, missing.rc) == (True, 257)


# -- blockinfile ------------------------------------------------------------------------------


def test_blockinfile_inserts_updates_and_removes(ctx: StepContext, conf: Path) -> None:
    args = {"path": str(conf), "block": "Match User git\n  X11Forwarding no"}
    first = run("blockinfile", ctx, args)
    assert (first.changed, first.msg) == (True, "Block inserted")
    block = (
        b"# BEGIN ANSIBLE MANAGED BLOCK\nMatch User git\n  X11Forwarding no\n"
        b"# END ANSIBLE MANAGED BLOCK\n"
    )
    assert conf.read_bytes() == SSHD_CONFIG + block
    assert not run("blockinfile", ctx, args).changed
    updated = run("blockinfile", ctx, {**args, "block": "Match User svn"})
    assert updated.changed
    assert conf.read_bytes().endswith(b"BLOCK\nMatch User svn\n# END ANSIBLE MANAGED BLOCK\n")
    removed = run("blockinfile", ctx, {"path": str(conf), "state": "absent"})
    assert (removed.changed, removed.msg) == (True, "Block removed")
    assert conf.read_bytes() == SSHD_CONFIG
    assert mode_of(conf) == 0o640


def test_blockinfile_insertbefore_with_markers_and_backup(ctx: StepContext, conf: Path) -> None:
    args = {
        "path": str(conf),
        "content": "ListenAddress ::",
        "marker": "# {mark} listen",
        "marker_begin": "start",
        "marker_end": "stop",
        "insertbefore": "^UsePAM",
        "backup": True,
    }
    result = run("blockinfile", ctx, args)
    assert result.changed
    assert conf.read_bytes() == (
        b"# sshd\nPort 22\n#PermitRootLogin yes\n"
        b"# start listen\nListenAddress ::\n# stop listen\nUsePAM yes\n"
    )
    assert Path(result.data["backup_file"]).read_bytes() == SSHD_CONFIG


def test_blockinfile_check_mode_and_a_bad_insertafter(ctx: StepContext, conf: Path) -> None:
    ctx.check_mode = True
    result = run("blockinfile", ctx, {"path": str(conf), "block": "x"})
    assert result.changed
    assert result.diff is not None
    assert "x\n# END ANSIBLE MANAGED BLOCK\n" in result.diff["after"]
    assert conf.read_bytes() == SSHD_CONFIG
    bad = run("blockinfile", ctx, {"path": str(conf), "block": "x", "insertafter": "(?P<"})
    assert bad.failed
    assert bad.msg.startswith("insertafter: invalid regular expression")


# -- replace ----------------------------------------------------------------------------------


def test_replace_is_multiline_with_groups_and_idempotent(ctx: StepContext, conf: Path) -> None:
    args = {"path": str(conf), "regexp": r"^(\w+) yes$", "replace": r"\1 no"}
    first = run("replace", ctx, args)
    assert (first.changed, first.msg, first.rc) == (True, "1 replacements made", 0)
    assert conf.read_bytes() == SSHD_CONFIG.replace(b"UsePAM yes", b"UsePAM no")
    assert first.diff is not None
    assert first.diff["before_header"] == str(conf)
    second = run("replace", ctx, args)
    assert (second.changed, second.as_dict()["msg"]) == (False, "")


def test_replace_between_after_and_before(ctx: StepContext, tmp_path: Path) -> None:
    path = tmp_path / "ini"
    path.write_text("[a]\nx=1\n[b]\nx=1\n[c]\nx=1\n")
    args = {"path": str(path), "after": r"\[b\]", "before": r"\[c\]", "regexp": "x=1"}
    assert run("replace", ctx, {**args, "replace": "x=2"}).changed
    assert path.read_text() == "[a]\nx=1\n[b]\nx=2\n[c]\nx=1\n"
    missing = run("replace", ctx, {**args, "after": "nothere", "replace": "y"})
    assert not missing.changed
    assert missing.msg.startswith("Pattern for before/after params did not match")


def test_replace_keeps_an_encoding(ctx: StepContext, tmp_path: Path) -> None:
    path = tmp_path / "latin"
    path.write_bytes("café=1\n".encode("latin-1"))
    args = {"path": str(path), "regexp": "café", "replace": "thé", "encoding": "latin-1"}
    assert run("replace", ctx, args).changed
    assert path.read_bytes() == "thé=1\n".encode("latin-1")


def test_replace_bad_input(ctx: StepContext, conf: Path) -> None:
    bad = run("replace", ctx, {"path": str(conf), "regexp": "a{2", "replace": "b"})
    assert not bad.failed  # a{2 is a literal in Python's re
    broken = run("replace", ctx, {"path": str(conf), "regexp": "*x"})
    assert broken.failed
    assert broken.msg.startswith("regexp: invalid regular expression '*x': nothing to repeat")
    group = run("replace", ctx, {"path": str(conf), "regexp": "Port", "replace": r"\3"})
    assert group.failed
    assert group.msg.startswith("Unable to process replace due to error: invalid group")
    rejected = run(
        "replace",
        ctx,
        {"path": str(conf), "regexp": "Port", "replace": "Nope", "validate": "false %s"},
    )
    assert (rejected.failed, rejected.msg) == (True, "failed to validate: rc:1 error:")
    assert conf.read_bytes() == SSHD_CONFIG


# -- corral check -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("lineinfile: {line: x}", "step 'lineinfile': 'path' is a required property"),
        ("blockinfile: {block: x}", "step 'blockinfile': 'path' is a required property"),
        ("replace: {dest: /etc/x}", "step 'replace': 'regexp' is a required property"),
        ("lineinfile: {name: /x, line: x, state: gone}", "argument 'state' of step 'lineinfile'"),
    ],
)
def test_check_names_the_missing_or_bad_argument(
    corral_project: CorralProject, task: str, message: str
) -> None:
    corral_project.write("site.yml", f"- hosts: localhost\n  tasks:\n    - {task}\n")
    result = corral_project.run("check", "site.yml")
    assert result.exit_code != 0
    assert message in result.output

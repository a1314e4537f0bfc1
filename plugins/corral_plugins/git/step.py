"""The ``git`` step: Ansible's ``git`` module, a checkout kept at a version.

It follows Ansible's module closely, so results match: a missing ``dest`` is cloned;
an existing one is fetched and moved to ``version`` (a branch, tag or commit, default the
remote's HEAD); ``before`` and ``after`` are the commits, ``changed`` says they differ (or
the remote URL changed, or local changes were thrown away). Check mode never touches the
host's repository: it asks the remote with ``git ls-remote`` what ``version`` is there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.git.commands import Git, normalise_url, ssh_command

__all__ = ["git"]


def _ssh_opts(args: Mapping[str, Any]) -> str | None:
    """``ssh_opts`` plus what ``accept_hostkey``/``accept_newhostkey`` ask for."""
    opts = args.get("ssh_opts")
    for flag, value in (("accept_hostkey", "no"), ("accept_newhostkey", "accept-new")):
        if not args.get(flag):
            continue
        if opts is None:
            opts = f"-o StrictHostKeyChecking={value}"
        elif "StrictHostKeyChecking" not in opts:
            opts += f" -o StrictHostKeyChecking={value}"
    return opts


def git(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Clone or update ``repo`` at ``dest`` to ``version``."""
    repo = args.get("repo") or args.get("name")
    if not repo:
        return StepResult(failed=True, msg="missing required argument: repo")
    if repo.startswith("/"):
        repo = "file://" + repo
    dest = args.get("dest")
    allow_clone = args.get("clone", True)
    if not dest and allow_clone:
        return StepResult(
            failed=True, msg="the destination directory must be specified unless clone=no"
        )
    if args.get("depth") is not None and args["depth"] < 1:
        return StepResult(failed=True, msg="depth must be a positive integer")
    env: dict[str, str] = {}
    command = ssh_command(args.get("key_file"), _ssh_opts(args))
    if command:
        env["GIT_SSH_COMMAND"] = command
    if dest:
        dest = dest if dest.startswith("/") else posixpath.normpath(dest)
    g = Git(ctx, dest or "/", executable=args.get("executable") or "git", env=env)
    try:
        return _run(ctx, g, args, repo, dest)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)


def _run(
    ctx: StepContext, g: Git, args: Mapping[str, Any], repo: str, dest: str | None
) -> StepResult:
    version = str(args.get("version") or "HEAD")
    remote = args.get("remote") or "origin"
    bare = bool(args.get("bare"))
    data: dict[str, Any] = {"before": None}
    config = posixpath.join(dest, "config" if bare else ".git/config") if dest else None
    exists = config is not None and ctx.conn.stat(config, become=ctx.become) is not None
    if not exists:
        if ctx.check_mode or not args.get("clone", True):
            data["after"] = g.remote_head(repo, version, cloning=True, bare=bare)
            return StepResult(changed=True, data=data)
        assert dest is not None
        _clone(g, args, repo, dest, remote, version, bare)
    elif not args.get("update", True):
        data["before"] = data["after"] = g.version()
        return StepResult(data=data)
    else:
        return _update(ctx, g, args, repo, remote, version, bare, data)
    if not bare:
        _switch(g, remote, version, args.get("depth"))
    _submodules(g, args, bare)
    data["after"] = g.version()
    return StepResult(changed=True, data=data)


def _update(
    ctx: StepContext,
    g: Git,
    args: Mapping[str, Any],
    repo: str,
    remote: str,
    version: str,
    bare: bool,
    data: dict[str, Any],
) -> StepResult:
    local_mods = not bare and g.local_mods()
    data["before"] = g.version()
    msg = ""
    if local_mods:
        if not args.get("force"):
            return StepResult(
                failed=True,
                msg=f"Local modifications exist in the destination: {g.dest} (force=no).",
                data=data,
            )
        msg = f"Local modifications exist in the destination: {g.dest}"
        if not ctx.check_mode:
            g.run("reset", "--hard", "HEAD", what="discard the local modifications")
    url = g.remote_url(remote)
    url_changed = bool(url) and url != repo and normalise_url(url) != normalise_url(repo)
    data["remote_url_changed"] = url_changed
    if ctx.check_mode:
        after = g.remote_head(remote, version, cloning=False, bare=bare)
        data["after"] = after
        changed = data["before"] != after or url_changed or local_mods
        return StepResult(changed=changed, msg=msg, data=data)
    if url != repo and normalise_url(url) != normalise_url(repo):
        g.run("remote", "set-url", remote, repo, what=f"set the url of {remote} to {repo}")
    _fetch(g, args, repo, remote, version, bare)
    if not bare:
        _switch(g, remote, version, args.get("depth"))
    submodules = _submodules(g, args, bare)
    if submodules:
        data["submodules_changed"] = True
    data["after"] = g.version()
    changed = data["before"] != data["after"] or local_mods or submodules or url_changed
    return StepResult(changed=changed, msg=msg, data=data)


def _clone(
    g: Git, args: Mapping[str, Any], repo: str, dest: str, remote: str, version: str, bare: bool
) -> None:
    parent = posixpath.dirname(dest.rstrip("/")) or "/"
    made = g.ctx.conn.run(["mkdir", "-p", "--", parent], timeout=g.ctx.timeout, become=g.ctx.become)
    if made.rc != 0:
        raise StepFailed(f"cannot make {parent}: {made.stderr.strip()}")
    argv = ["clone", "--bare"] if bare else ["clone", "--origin", remote]
    depth, single = args.get("depth"), args.get("single_branch")
    named = version != "HEAD" and (depth or single)
    is_ref = named and (
        g.is_remote_branch(repo, version, cwd="/") or g.is_remote_tag(repo, version, cwd="/")
    )
    if depth and (version == "HEAD" or args.get("refspec") or is_ref):
        argv += ["--depth", str(depth)]
    if args.get("reference"):
        argv += ["--reference", args["reference"]]
    if single:
        argv.append("--single-branch")
    if is_ref:
        argv += ["--branch", version]
    g.run(*argv, repo, dest, cwd=parent, what=f"clone {repo}")
    if bare and remote != "origin":
        g.run("remote", "add", remote, repo)
    if args.get("refspec"):
        extra = ["--depth", str(depth)] if depth else []
        g.run("fetch", *extra, remote, args["refspec"])


def _fetch(
    g: Git, args: Mapping[str, Any], repo: str, remote: str, version: str, bare: bool
) -> None:
    """Download the remote's objects and refs (only ``version``'s with ``depth``)."""
    argv = ["fetch"]
    refspecs: list[str] = []
    depth, refspec = args.get("depth"), args.get("refspec")
    if depth:
        if refspec:
            refspecs.append(refspec)
        elif version == "HEAD":
            refspecs.append(g.head_branch(remote))
        elif g.is_remote_branch(repo, version):
            if g.head_branch(remote) != version:
                refspecs.append(f"+refs/heads/{version}:refs/heads/{version}")
            refspecs.append(f"+refs/heads/{version}:refs/remotes/{remote}/{version}")
        elif g.is_remote_tag(repo, version):
            refspecs.append(f"+refs/tags/{version}:refs/tags/{version}")
        if refspecs:
            argv += ["--depth", str(depth)]
    if not depth or not refspecs:
        if bare:
            refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        else:
            argv.append("--tags")
        if refspec:
            refspecs.append(refspec)
    if args.get("force"):
        argv.append("--force")
    g.run(*argv, remote, *refspecs, what="download remote objects and refs")


def _switch(g: Git, remote: str, version: str, depth: int | None) -> None:
    """Check out ``version``: a branch tracks the remote's, anything else is checked out as is."""
    if version == "HEAD":
        branch = g.head_branch(remote)
        g.run("checkout", "--force", branch, what=f"checkout branch {branch}")
        g.run("reset", "--hard", f"{remote}/{branch}", "--", what=f"checkout branch {branch}")
    elif g.is_remote_branch(remote, version):
        if version not in g.local_branches():
            if depth:
                g.run("remote", "set-branches", "--add", remote, version)
                g.run("fetch", "--depth", str(depth), remote, version)
            g.run(
                "checkout",
                "--track",
                "-b",
                version,
                f"{remote}/{version}",
                what=f"checkout {version}",
            )
        else:
            g.run("checkout", "--force", version, what=f"checkout branch {version}")
            g.run("reset", "--hard", f"{remote}/{version}", what=f"checkout {version}")
    else:
        g.run("checkout", "--force", version, what=f"checkout {version}")


def _submodules(g: Git, args: Mapping[str, Any], bare: bool) -> bool:
    """Bring submodules to the commits the superproject records; whether any moved."""
    if bare or not args.get("recursive", True):
        return False
    if g.ctx.conn.stat(posixpath.join(g.dest, ".gitmodules"), become=g.ctx.become) is None:
        return False
    before = g.run("submodule", "status", "--recursive", check=False).stdout
    argv = ["submodule", "update", "--init", "--recursive"]
    if args.get("track_submodules"):
        argv.append("--remote")
    if args.get("force"):
        argv.append("--force")
    g.run(*argv, what="update the submodules")
    after = g.run("submodule", "status", "--recursive", check=False).stdout
    return before != after

"""The ``dnf`` and ``yum`` steps: packages on RPM hosts, through the dnf (or yum) command.

What is installed is read with ``rpm -q``; missing packages go to one ``dnf install``,
``latest`` to one ``dnf upgrade`` (plus one install for those not there yet),
``absent`` to one ``dnf remove``. dnf resolves the whole list before changing
anything, so an unknown name fails the task with nothing installed. Check mode
reports the packages that would be touched without running dnf.

Tested with Debian's own dnf and rpm packages on a Debian host (no RPM distribution can
run here); docs/steps/dnf.md says what that leaves untested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.packages.common import first_of, host_run, names_of

__all__ = ["dnf", "dnf5", "yum"]


_NOTHING = re.compile(r"^(Nothing to do|No packages marked for)", re.M)


def dnf(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Manage packages with dnf."""
    return _with_tool(ctx, args, "command -v dnf", "dnf")


def dnf5(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Manage packages with dnf5 (``dnf`` where it is the only one: the same command line)."""
    return _with_tool(ctx, args, "command -v dnf5 || command -v dnf", "dnf5")


def yum(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Manage packages with yum (dnf where yum is only its alias, as on EL8+)."""
    return _with_tool(ctx, args, "command -v yum || command -v dnf", "yum")


def _with_tool(ctx: StepContext, args: Mapping[str, Any], probe: str, name: str) -> StepResult:
    found = host_run(ctx, ["/bin/sh", "-c", probe])
    tool = found.stdout.strip().rsplit("/", 1)[-1]
    if found.rc != 0 or not tool:
        return StepResult(failed=True, msg=f"{name}: no {name} command on the host")
    return _manage(ctx, args, tool)


def _flags(args: Mapping[str, Any]) -> list[str]:
    argv = ["-y"]
    for key, flag in (
        ("disable_gpg_check", "--nogpgcheck"),
        ("allowerasing", "--allowerasing"),
        ("skip_broken", "--skip-broken"),
        ("security", "--security"),
        ("bugfix", "--bugfix"),
        ("download_only", "--downloadonly"),
        ("cacheonly", "--cacheonly"),
    ):
        if args.get(key):
            argv.append(flag)
    if args.get("nobest") is not None:
        argv.append("--nobest" if args["nobest"] else "--best")
    if not args.get("install_weak_deps", True):
        argv.append("--setopt=install_weak_deps=False")
    for key, flag in (("enablerepo", "--enablerepo"), ("disablerepo", "--disablerepo")):
        argv += [f"{flag}={repo}" for repo in args.get(key) or []]
    argv += [f"--exclude={name}" for name in args.get("exclude") or []]
    argv += [f"--disableplugin={name}" for name in args.get("disable_plugin") or []]
    argv += [f"--enableplugin={name}" for name in args.get("enable_plugin") or []]
    if args.get("conf_file"):
        argv.append(f"--config={args['conf_file']}")
    if args.get("installroot", "/") != "/":
        argv.append(f"--installroot={args['installroot']}")
    if args.get("releasever"):
        argv.append(f"--releasever={args['releasever']}")
    return argv


def installed_rpms(ctx: StepContext, names: Sequence[str]) -> set[str]:
    """Which of ``names`` rpm says are installed (names, or name-version specs)."""
    if not names:
        return set()
    result = host_run(ctx, ["rpm", "-q", "--qf", "%{NAME}\\n", "--", *names])
    found = set()
    for name, line in zip(names, result.stdout.splitlines(), strict=False):
        if "is not installed" not in line:
            found.add(name)
    return found


def _manage(  # noqa: PLR0911 - one return per case, as Ansible decides them
    ctx: StepContext, args: Mapping[str, Any], tool: str
) -> StepResult:
    names = names_of(first_of(args, "name", "pkg"))
    state = args.get("state") or ("latest" if names == ["*"] else "present")
    flags = _flags(args)
    if first_of(args, "update_cache", "expire-cache") and not ctx.check_mode:
        host_run(ctx, [tool, "makecache", *flags[1:]])
    if not names:
        if args.get("autoremove"):
            return _run(ctx, [tool, *flags, "autoremove"], check=True)
        return StepResult(changed=False, msg="Nothing to do", data={"results": []})
    plain = [n for n in names if not n.startswith(("@", "/")) and "://" not in n]
    if state in ("absent", "removed"):
        present = sorted(installed_rpms(ctx, plain)) + [n for n in names if n not in plain]
        if not present:
            return StepResult(changed=False, msg="Nothing to do", data={"results": []})
        return _run(ctx, [tool, *flags, "remove", *present], check=ctx.check_mode)
    if names == ["*"]:
        return _run(ctx, [tool, *flags, "upgrade"], check=ctx.check_mode, probe=tool)
    installed = installed_rpms(ctx, plain)
    missing = [n for n in names if n not in installed]
    if state == "latest" or args.get("update_only"):
        upgrade = [n for n in names if n in installed]
        if args.get("update_only"):
            missing = []
        results = []
        if missing:
            results.append(_run(ctx, [tool, *flags, "install", *missing], check=ctx.check_mode))
        if upgrade:
            argv = [tool, *flags, "upgrade", *upgrade]
            results.append(_run(ctx, argv, check=ctx.check_mode, probe=tool))
        return _merge(results)
    if not missing:
        return StepResult(changed=False, msg="Nothing to do", data={"results": []})
    return _run(ctx, [tool, *flags, "install", *missing], check=ctx.check_mode)


def _run(ctx: StepContext, argv: list[str], *, check: bool, probe: str | None = None) -> StepResult:
    """Run dnf; in check mode say it would change (``probe``: ask check-update first)."""
    if check:
        if probe is None:
            return StepResult(changed=True, msg=f"Check mode: would run {' '.join(argv)}")
        names = argv[argv.index("upgrade") + 1 :]
        found = host_run(ctx, [probe, "check-update", "-q", *names])
        return StepResult(changed=found.rc == 100, msg="Check mode: updates available")
    result = host_run(ctx, argv)
    if result.rc != 0 or result.timed_out:
        missing = re.findall(r"No match for argument: (\S+)", result.stdout + result.stderr)
        msg = (
            "Failed to install some of the specified packages: no package matched "
            + ", ".join(missing)
            if missing
            else f"{argv[0]} failed: {result.stderr.strip() or result.rc}"
        )
        return StepResult(
            failed=True, msg=msg, rc=result.rc, stdout=result.stdout, stderr=result.stderr
        )
    changed = not _NOTHING.search(result.stdout)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return StepResult(
        changed=changed,
        rc=0,
        msg="" if changed else "Nothing to do",
        stdout=result.stdout,
        stderr=result.stderr,
        data={"results": lines},
    )


def _merge(results: list[StepResult]) -> StepResult:
    if not results:
        return StepResult(changed=False, msg="Nothing to do", data={"results": []})
    for result in results:
        if result.failed:
            return result
    merged = results[-1]
    merged.changed = any(r.changed for r in results)
    return merged

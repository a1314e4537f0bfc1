"""The ``apt`` step: Ansible's ``apt`` module, on apt-get and dpkg-query.

The step reads what is installed (``dpkg-query``), decides what to ask for, and
asks apt-get once: a whole package list is one transaction, so one unknown name
fails the task before anything is installed (apt-get resolves every name first).
Check mode runs the same command simulated (``apt-get -s``). Whether anything
changed is read from apt-get's own summary ("N upgraded, M newly installed...").
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from corral import CommandResult, StepContext, StepFailed, StepResult
from corral_plugins.packages import aptops
from corral_plugins.packages.aptops import AptOptions, apt_get
from corral_plugins.packages.aptparse import (
    Installed,
    matching_version,
    parse_changes,
    prepared_diff,
    split_spec,
    unavailable_packages,
)
from corral_plugins.packages.common import QUIET_ENV, first_of, names_of

__all__ = ["apt"]

_ACTIONS = ("name", "package", "pkg", "deb", "upgrade", "update_cache", "update-cache")


# Ansible's order: cache, clean, upgrade, deb, packages; each of these ends the task.
def apt(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:  # noqa: PLR0911, PLR0912
    """Install, upgrade or remove packages with apt-get."""
    specs = names_of(first_of(args, "name", "package", "pkg"))
    state = str(args.get("state", "present"))
    upgrade = _upgrade_mode(args.get("upgrade", "no"))
    update = bool(first_of(args, "update_cache", "update-cache")) or bool(
        args.get("cache_valid_time")
    )
    cleaning = any(args.get(key) for key in ("autoremove", "autoclean", "clean"))
    if not (specs or args.get("deb") or upgrade or update or cleaning):
        return StepResult(
            failed=True,
            msg="one of the following is required: name, deb, upgrade, update_cache, "
            "autoremove, autoclean, clean",
        )
    for spec in specs:
        split_spec(spec)  # a bad spec fails before anything runs
    options = _options(args)
    cache: dict[str, Any] = {"cache_updated": False, "cache_update_time": 0}
    if update:
        updated, when = aptops.update_cache(ctx, args)
        cache = {"cache_updated": updated, "cache_update_time": when}
    else:
        cache["cache_update_time"] = aptops.cache_age(ctx)[0]
    if args.get("clean"):
        cleaned = _run(ctx, apt_get(options, ["clean"], simulate=ctx.check_mode), "clean")
        if cleaned.failed or not (specs or upgrade or args.get("deb")):
            cleaned.changed = not cleaned.failed
            return _with(cleaned, cache)
    elif update and not (specs or upgrade or args.get("deb") or cleaning):
        return StepResult(changed=cache["cache_updated"], data=cache)
    if upgrade:
        command = (
            ["dist-upgrade"] if upgrade in ("dist", "full") else ["upgrade", "--with-new-pkgs"]
        )
        return _with(_change(ctx, args, options, command, auto_remove=True), cache)
    if args.get("deb"):
        if state != "present":
            return StepResult(failed=True, msg="deb only supports state=present")
        return _with(_install_deb(ctx, args, options, str(args["deb"])), cache)
    if state == "latest" and "*" in specs:
        if len(specs) > 1:
            return StepResult(
                failed=True,
                msg="unable to install additional packages when upgrading all installed packages",
            )
        command = ["upgrade", "--with-new-pkgs"]
        return _with(_change(ctx, args, options, command, auto_remove=True), cache)
    if not specs:
        return _with(_cleanup(ctx, args, options), cache)
    if state == "absent":
        return _with(_remove(ctx, args, options, specs), cache)
    return _with(_install(ctx, args, options, specs, state), cache)


def _upgrade_mode(value: Any) -> str | None:
    if value is True:
        return "yes"
    if value in (False, None, "no"):
        return None
    return str(value)


def _options(args: Mapping[str, Any]) -> AptOptions:
    recommends = first_of(args, "install_recommends", "install-recommends")
    return AptOptions(
        dpkg_options=str(args.get("dpkg_options", "force-confdef,force-confold")),
        lock_timeout=int(args.get("lock_timeout", 60)),
        force=bool(args.get("force")),
        default_release=first_of(args, "default_release", "default-release"),
        install_recommends=None if recommends is None else bool(recommends),
        allow_unauthenticated=bool(
            first_of(args, "allow_unauthenticated", "allow-unauthenticated")
        ),
        allow_downgrade=bool(
            first_of(
                args, "allow_downgrade", "allow-downgrade", "allow_downgrades", "allow-downgrades"
            )
        ),
        allow_change_held_packages=bool(args.get("allow_change_held_packages")),
        fail_on_autoremove=bool(args.get("fail_on_autoremove")),
        autoremove=bool(args.get("autoremove")),
        only_upgrade=bool(args.get("only_upgrade")),
        purge=bool(args.get("purge")),
    )


def _with(result: StepResult, cache: Mapping[str, Any]) -> StepResult:
    result.data = {**cache, **result.data}
    return result


# -- installing ------------------------------------------------------------------------


def _install(
    ctx: StepContext,
    args: Mapping[str, Any],
    options: AptOptions,
    specs: Sequence[str],
    state: str,
) -> StepResult:
    """Ask apt-get, in one call, for every package that is not already as wanted."""
    if state == "build-dep":
        return _change(ctx, args, options, ["build-dep", *specs])
    wanted = [split_spec(spec) for spec in specs]
    current = aptops.dpkg_status(ctx, [name for name, _ in wanted])
    wildcards = [name for name, pin in wanted if pin and _is_pattern(pin)]
    available = aptops.versions_available(ctx, wildcards)
    targets: list[str] = []
    for name, pin in wanted:
        known = current.get(name)
        installed = known is not None and known.installed
        if options.only_upgrade and not installed:
            continue
        target = name
        if pin is not None:
            version = pin
            if _is_pattern(pin):
                version = _best(available.get(name, []), pin, known) or ""
                if not version:
                    return StepResult(
                        failed=True, msg=f"no available installation candidate for {name}={pin}"
                    )
            if (
                state == "present"
                and installed
                and known
                and fnmatch.fnmatchcase(known.version, pin)
            ):
                continue
            target = f"{name}={version}"
        elif state == "present" and installed:
            continue
        targets.append(target)
    if state == "fixed":
        return _change(ctx, args, options, ["install", "--fix-broken", *targets])
    if not targets:
        return StepResult(changed=False)
    command = ["install", *(["--only-upgrade"] if options.only_upgrade else []), *targets]
    return _change(ctx, args, options, command, auto_remove=True)


def _is_pattern(pin: str) -> bool:
    return any(char in pin for char in "*?[")


def _best(available: list[str], pin: str, known: Installed | None) -> str | None:
    """The version a wildcard pin installs: the best available that matches it."""
    found = matching_version(available, pin)
    if found is None and known is not None and known.installed:
        # Installed, and no longer in any repository.
        return known.version if fnmatch.fnmatchcase(known.version, pin) else None
    return found


def _install_deb(
    ctx: StepContext, args: Mapping[str, Any], options: AptOptions, deb: str
) -> StepResult:
    """Install a .deb file (its dependencies from the repositories, in the same call)."""
    with aptops.deb_on_host(ctx, deb) as path:
        fields = aptops.deb_fields(ctx, path)
        name = fields.get("Package", "")
        current = aptops.dpkg_status(ctx, [name] if name else [])
        known = current.get(name) or current.get(f"{name}:{fields.get('Architecture', '')}")
        if (
            known is not None
            and known.installed
            and known.version == fields.get("Version")
            and not options.force
        ):
            return StepResult(changed=False)
        # A reinstall is not listed by apt-get's summary, but it is a change.
        return _change(ctx, args, options, ["install", "--reinstall", path], always=True)


# -- removing and cleaning up ----------------------------------------------------------


def _remove(
    ctx: StepContext, args: Mapping[str, Any], options: AptOptions, specs: Sequence[str]
) -> StepResult:
    """Remove, in one call, the packages that are installed (at the pinned version)."""
    wanted = [split_spec(spec) for spec in specs]
    current = aptops.dpkg_status(ctx, [name for name, _ in wanted])
    targets: list[str] = []
    for name, pin in wanted:
        known = current.get(name)
        if known is None or not (known.installed or (options.purge and known.config_files)):
            continue
        if pin is not None and not fnmatch.fnmatchcase(known.version, pin):
            continue
        targets.append(name)
    if not targets:
        return StepResult(changed=False)
    return _change(ctx, args, options, [*aptops.removing(options), *targets], auto_remove=True)


def _cleanup(ctx: StepContext, args: Mapping[str, Any], options: AptOptions) -> StepResult:
    """``autoclean`` and ``autoremove`` without packages."""
    result = StepResult(changed=False)
    if args.get("autoclean"):
        result = _change(ctx, args, options, ["autoclean"])
        if result.failed:
            return result
    if args.get("autoremove"):
        command = ["autoremove", *(["--purge"] if options.purge else [])]
        result = _change(ctx, args, options, command)
    return result


# -- running apt-get -------------------------------------------------------------------


def _change(
    ctx: StepContext,
    args: Mapping[str, Any],
    options: AptOptions,
    command: Sequence[str],
    *,
    auto_remove: bool = False,
    always: bool = False,
) -> StepResult:
    """Run one apt-get command (simulated in check mode) and say what it changed."""
    argv = apt_get(options, command, simulate=ctx.check_mode, auto_remove=auto_remove)
    with aptops.policy_rc_d(ctx, args.get("policy_rc_d")):
        result = _run(ctx, argv, command[0])
    if result.failed:
        return result
    output = result.stdout or ""
    changes = parse_changes(output)
    result.changed = always or changes.changed
    if command[0] == "autoclean":
        result.changed = "Del " in output
    if ctx.diff and result.changed:
        result.diff = {**changes.diff(), "prepared": prepared_diff(output)}
    return result


def _run(ctx: StepContext, argv: Sequence[str], what: str) -> StepResult:
    # Through run_command: under ``async`` the engine runs apt-get as a job on the host.
    env = {**QUIET_ENV, **ctx.env}
    result: CommandResult = ctx.run_command(argv, env=env, shown=shlex.join(argv))
    if result.timed_out:
        raise StepFailed(f"apt-get {what} timed out")
    if result.rc != 0:
        return StepResult(
            failed=True,
            msg=_failure(what, argv, result),
            rc=result.rc,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return StepResult(stdout=result.stdout, stderr=result.stderr)


def _failure(what: str, argv: Sequence[str], result: CommandResult) -> str:
    missing = unavailable_packages(result.stderr)
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        return f"No package matching {names} is available (nothing was installed)"
    errors = [line for line in result.stderr.splitlines() if line.startswith("E: ")]
    detail = "; ".join(errors) or result.stderr.strip() or f"rc={result.rc}"
    return f"'apt-get {what}' failed: {detail}"

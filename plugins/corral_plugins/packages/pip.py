"""The ``pip`` step: Python packages in the system's Python or in a virtualenv.

What is installed is read from ``pip list --format=freeze``; a package whose
installed version satisfies the requested specifier (``foo>=1.2``, or ``name`` with
``version``) is left alone, and the rest go to one ``pip install``. Requirements
files are handed to pip, which says whether it installed anything; in check mode
``pip install --dry-run`` says what it would install.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from corral import StepContext, StepResult
from corral_plugins.packages.common import host_run, names_of

if TYPE_CHECKING:
    from packaging.requirements import Requirement

# packaging is imported where it is used: it takes longer to import than the whole
# packages plugin, and every corral command registers the plugin's steps.

__all__ = ["pip"]


def pip(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Install, upgrade or remove Python packages."""
    from packaging.requirements import InvalidRequirement, Requirement

    names = names_of(args.get("name"))
    if args.get("version"):
        if len(names) != 1:
            return StepResult(failed=True, msg="version is only allowed with a single name")
        names = [f"{names[0]}=={args['version']}"]
    if args.get("executable") and args.get("virtualenv"):
        return StepResult(
            failed=True, msg="parameters are mutually exclusive: executable|virtualenv"
        )
    try:
        wanted = [Requirement(name) for name in names if not _is_path(name)]
    except InvalidRequirement as exc:
        return StepResult(failed=True, msg=f"invalid package name: {exc}")
    data: dict[str, Any] = {
        "name": names,
        "requirements": args.get("requirements"),
        "version": args.get("version"),
        "virtualenv": args.get("virtualenv"),
        "state": args.get("state", "present"),
    }
    created = False
    if args.get("virtualenv"):
        made = _ensure_virtualenv(ctx, args)
        if isinstance(made, StepResult):
            return made
        created = made
    command = _pip_command(args)
    installed = _installed(ctx, command, args)
    if data["state"] == "absent":
        return _uninstall(ctx, command, args, wanted, installed, data, created)
    return _install(ctx, command, args, names, installed, data, created)


def _install(
    ctx: StepContext,
    command: list[str],
    args: Mapping[str, Any],
    names: list[str],
    installed: Mapping[str, str],
    data: dict[str, Any],
    created: bool,
) -> StepResult:
    """One ``pip install`` for what is missing (or everything, for latest/forcereinstall)."""
    from packaging.requirements import Requirement

    state = data["state"]
    argv = [*command, "install"]
    if state == "latest":
        argv.append("-U")
    elif state == "forcereinstall":
        argv += ["-U", "--force-reinstall"]
    if args.get("break_system_packages"):
        argv.append("--break-system-packages")
    argv += shlex.split(args.get("extra_args") or "")
    todo = names
    if state == "present" and names:
        todo = [n for n in names if _is_path(n) or not _satisfied(Requirement(n), installed)]
    if args.get("editable"):
        todo = [item for name in todo for item in ("-e", name)]
    if args.get("requirements"):
        argv += ["-r", str(args["requirements"])]
    elif not todo:
        return StepResult(changed=created, data={**data, "cmd": ""})
    argv += todo
    data["cmd"] = shlex.join(argv)
    if ctx.check_mode:
        if not args.get("requirements") and state == "present":
            return StepResult(changed=True, data=data)
        argv.insert(len(command) + 1, "--dry-run")
    result = host_run(ctx, _in_dir(argv, args.get("chdir")))
    if result.rc != 0 or result.timed_out:
        reason = result.stderr.strip().splitlines()[-1:] or [f"rc={result.rc}"]
        return StepResult(
            failed=True,
            msg=f"pip install failed: {reason[0]}",
            rc=result.rc,
            stdout=result.stdout,
            stderr=result.stderr,
            data=data,
        )
    changed = created or any(
        marker in result.stdout for marker in ("Successfully installed", "Would install")
    )
    return StepResult(changed=changed, stdout=result.stdout, stderr=result.stderr, data=data)


def _is_path(name: str) -> bool:
    return "/" in name or "://" in name or name.startswith((".", "git+"))


def _venv_python(args: Mapping[str, Any]) -> str:
    return posixpath.join(str(args["virtualenv"]), "bin", "python")


def _pip_command(args: Mapping[str, Any]) -> list[str]:
    if args.get("virtualenv"):
        return [_venv_python(args), "-m", "pip"]
    if args.get("executable"):
        return shlex.split(str(args["executable"]))
    return ["python3", "-m", "pip"]


def _in_dir(argv: Sequence[str], chdir: str | None) -> list[str] | str:
    if not chdir:
        return list(argv)
    return f"cd {shlex.quote(chdir)} && exec {shlex.join(argv)}"


def _ensure_virtualenv(ctx: StepContext, args: Mapping[str, Any]) -> bool | StepResult:
    """Create the virtualenv unless it exists; True when it was (or would be) created."""
    found = ctx.conn.stat(_venv_python(args), become=ctx.become, timeout=ctx.timeout)
    if found is not None:
        return False
    if ctx.check_mode:
        return True
    argv = shlex.split(str(args.get("virtualenv_command") or "virtualenv"))
    if args.get("virtualenv_site_packages"):
        argv.append("--system-site-packages")
    if args.get("virtualenv_python"):
        if argv[-2:] == ["-m", "venv"] or argv[-1:] == ["pyvenv"]:
            return StepResult(failed=True, msg="virtualenv_python is not allowed with venv")
        argv += ["-p", str(args["virtualenv_python"])]
    argv.append(str(args["virtualenv"]))
    result = host_run(ctx, _in_dir(argv, args.get("chdir")))
    if result.rc != 0 or result.timed_out:
        detail = result.stderr.strip() or result.stdout.strip() or f"rc={result.rc}"
        return StepResult(failed=True, msg=f"cannot create the virtualenv: {detail}")
    return True


def _installed(ctx: StepContext, command: list[str], args: Mapping[str, Any]) -> dict[str, str]:
    """What pip says is installed, by canonical name."""
    from packaging.utils import canonicalize_name

    if ctx.check_mode and args.get("virtualenv"):
        found = ctx.conn.stat(_venv_python(args), become=ctx.become, timeout=ctx.timeout)
        if found is None:
            return {}
    result = host_run(ctx, [*command, "list", "--format=freeze", "--disable-pip-version-check"])
    packages: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            packages[canonicalize_name(name)] = version.strip()
    return packages


def _satisfied(requirement: Requirement, installed: Mapping[str, str]) -> bool:
    from packaging.utils import canonicalize_name

    version = installed.get(canonicalize_name(requirement.name))
    if version is None:
        return False
    return not requirement.specifier or requirement.specifier.contains(version, prereleases=True)


def _uninstall(
    ctx: StepContext,
    command: list[str],
    args: Mapping[str, Any],
    wanted: list[Requirement],
    installed: Mapping[str, str],
    data: dict[str, Any],
    created: bool,
) -> StepResult:
    from packaging.utils import canonicalize_name

    present = [r.name for r in wanted if canonicalize_name(r.name) in installed]
    if not present:
        return StepResult(changed=created, data={**data, "cmd": ""})
    argv = [*command, "uninstall", "-y", *present]
    data["cmd"] = shlex.join(argv)
    if ctx.check_mode:
        return StepResult(changed=True, data=data)
    result = host_run(ctx, _in_dir(argv, args.get("chdir")))
    if result.rc != 0 or result.timed_out:
        return StepResult(
            failed=True, msg="pip uninstall failed", rc=result.rc, stderr=result.stderr, data=data
        )
    return StepResult(changed=True, stdout=result.stdout, stderr=result.stderr, data=data)

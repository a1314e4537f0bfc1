"""The ``yum_repository`` step: one repository's section of a ``.repo`` file, as Ansible's.

The file (``REPOSDIR/FILE.repo``) is read from the host and parsed here, the section is
replaced whole by the given options (sorted, booleans as 1/0, lists joined) or removed,
and the file written back only when its content changes, in the same layout Ansible's
``configparser`` writes; a file left with no section is deleted. No package manager runs,
so the step works on any host, an RPM one or not, as Ansible's module does.
"""

from __future__ import annotations

import configparser
import io
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.files.attributes import ensure_attributes, parse_mode
from corral_plugins.packages.sources import remove_file, write_file
from corral_plugins.packages.yum_repository_schema import ALIASES, LIST_OPTIONS, REPO_OPTIONS

__all__ = ["yum_repository"]


def yum_repository(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Add, replace or remove the repository ``name``."""
    name, state = args["name"], args.get("state", "present")
    options = _options(args)
    if state == "present":
        problem = _missing_for_present(args, options)
        if problem:
            return StepResult(failed=True, msg=problem)
    reposdir = args.get("reposdir", "/etc/yum.repos.d")
    path = f"{reposdir.rstrip('/')}/{args.get('file') or name}.repo"
    try:
        found = ctx.conn.stat(reposdir, become=ctx.become, timeout=ctx.timeout)
        if found is None or not found.is_dir:
            return StepResult(failed=True, msg=f"Repo directory '{reposdir}' does not exist.")
        repofile = _parse(ctx, path)
        before = _dump(repofile)
        if repofile.has_section(name):
            repofile.remove_section(name)
        if state == "present":
            repofile.add_section(name)
            for key, value in sorted(options.items()):
                repofile.set(name, key, value)
        after = _dump(repofile)
        changed = before != after
        if changed and not ctx.check_mode:
            if repofile.sections():
                write_file(ctx, path, _written(repofile), parse_mode(args.get("mode")))
            else:
                remove_file(ctx, path)
        if repofile.sections():
            changed = bool(ensure_attributes(ctx, args, path)) or changed
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    diff = {"before_header": path, "before": before, "after_header": path, "after": after}
    return StepResult(changed=changed, diff=diff, data={"repo": name, "state": state})


def _options(args: Mapping[str, Any]) -> dict[str, str]:
    """The section's ``key = value`` pairs the arguments ask for (``name`` is the description)."""
    given = {ALIASES.get(key, key): value for key, value in args.items()}
    options = {
        key: _line_value(key, value)
        for key, value in given.items()
        if key in REPO_OPTIONS and value is not None
    }
    if args.get("description") is not None:
        options["name"] = str(args["description"])
    return options


def _line_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if key in LIST_OPTIONS:
        return LIST_OPTIONS[key].join([value] if isinstance(value, str) else value)
    return str(value)


def _missing_for_present(args: Mapping[str, Any], options: Mapping[str, str]) -> str:
    """Ansible's required_if for ``state: present``, worded as Ansible words it."""
    if not any(key in options for key in ("baseurl", "mirrorlist", "metalink")):
        return (
            "state is present but any of the following are missing: baseurl, mirrorlist, metalink"
        )
    if args.get("description") is None:
        return "state is present but all of the following are missing: description"
    return ""


def _parse(ctx: StepContext, path: str) -> configparser.RawConfigParser:
    repofile = configparser.RawConfigParser()
    found = ctx.read_file(path)
    if found.stat is None:
        return repofile
    try:
        repofile.read_string(found.data.decode("utf-8", errors="replace"), source=path)
    except configparser.Error as exc:
        raise StepFailed(f"cannot parse {path}: {exc}") from None
    return repofile


def _dump(repofile: configparser.RawConfigParser) -> str:
    """The sections and options sorted: what is compared, and shown as the diff."""
    text = ""
    for section in sorted(repofile.sections()):
        text += f"[{section}]\n"
        for key, value in sorted(repofile.items(section)):
            text += f"{key} = {value}\n"
        text += "\n"
    return text


def _written(repofile: configparser.RawConfigParser) -> str:
    """The file as Ansible's module writes it (configparser's own layout)."""
    out = io.StringIO()
    repofile.write(out)
    return out.getvalue()

"""The ``user`` step: Ansible's ``user`` module on Linux, through useradd/usermod/userdel.

The current state comes from ``getent`` (accounts.py); the step builds the one
useradd or usermod command Ansible would, runs it unless in check mode, then sees to
the home directory, the SSH key (sshkeys.py) and password ageing (``chage``).
"""

from __future__ import annotations

import posixpath
import shlex
import time
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.users.accounts import Accounts, check_name, read_accounts, run
from corral_plugins.users.sshkeys import ssh_key

__all__ = ["user"]

DATE_FORMAT = "%Y-%m-%d"
HIDDEN = "NOT_LOGGING_PASSWORD"


def user(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Create, change or remove one user account."""
    name = args.get("name") or args.get("user")
    if not name:
        raise StepFailed("name: required (the user's login name)")
    check_name(str(name), "user")
    if args.get("local"):
        raise StepFailed("local: the luseradd tools are not supported; leave local unset")
    accounts = read_accounts(ctx, name)
    if args.get("state", "present") == "absent":
        return _absent(ctx, args, name, accounts)
    return _present(ctx, args, name, accounts)


def _absent(ctx: StepContext, args: Mapping[str, Any], name: str, acc: Accounts) -> StepResult:
    data: dict[str, Any] = {"name": name, "state": "absent"}
    if acc.passwd is None:
        return StepResult(data=data)
    if ctx.check_mode:
        return StepResult(changed=True, data=data)
    argv = ["userdel", *_switches(args, ("-f", "force"), ("-r", "remove")), name]
    result = run(ctx, argv)
    data |= {"force": bool(args.get("force")), "remove": bool(args.get("remove"))}
    return _outcome(result.rc, result.stdout, result.stderr, data)


def _outcome(rc: int, out: str, err: str, data: dict[str, Any]) -> StepResult:
    if rc != 0:
        msg = err.strip() or out.strip() or f"rc={rc}"
        return StepResult(failed=True, msg=msg, rc=rc, data={"name": data["name"]})
    extra = {k: v for k, v in (("stdout", out), ("stderr", err)) if v}
    return StepResult(changed=True, data=data | extra)


def _present(ctx: StepContext, args: Mapping[str, Any], name: str, acc: Accounts) -> StepResult:
    data: dict[str, Any] = {"name": name, "state": "present"}
    create_home = bool(args.get("create_home", args.get("createhome", True)))
    if acc.passwd is None:
        argv = _useradd(args, name, acc, create_home)
        if ctx.check_mode:
            return StepResult(changed=True, data=data)
        data |= {"system": bool(args.get("system")), "create_home": create_home}
    else:
        options = _usermod(args, name, acc)
        argv = ["usermod", *options, name] if options else []
        data |= {"append": bool(args.get("append")), "move_home": bool(args.get("move_home"))}
    changed = bool(argv)
    if argv and not ctx.check_mode:
        result = run(ctx, argv)
        if result.rc != 0:
            return _outcome(result.rc, result.stdout, result.stderr, data)
    if args.get("password") is not None:
        data["password"] = HIDDEN
    if argv and not ctx.check_mode:
        acc = read_accounts(ctx, name)
    entry = acc.passwd
    if entry is None:
        return StepResult(failed=True, msg=f"failed to look up user name: {name}", data=data)
    data |= {"uid": entry.uid, "group": entry.gid, "comment": entry.comment}
    data |= {"home": entry.home, "shell": entry.shell}
    if args.get("groups") is not None:
        data["groups"] = ",".join(_group_refs(args))
    if create_home and not acc.home_exists and _make_home(ctx, entry.home, entry.uid, entry.gid):
        changed = True
    if args.get("generate_ssh_key"):
        key_changed, key_data = ssh_key(ctx, args, entry)
        changed |= key_changed
        data |= key_data
    changed |= _ageing(ctx, args, name, acc)
    return StepResult(changed=changed, data=data)


def _group_refs(args: Mapping[str, Any]) -> list[str]:
    return [str(g).strip() for g in args.get("groups") or [] if str(g).strip()]


def _existing_group(acc: Accounts, ref: str) -> Any:
    found = acc.group(ref)
    if found is None:
        raise StepFailed(f"Group {ref} does not exist")
    return found


def _expiry(args: Mapping[str, Any]) -> str:
    expires = float(args["expires"])
    return "" if expires < 0 else time.strftime(DATE_FORMAT, time.gmtime(expires))


def _switches(args: Mapping[str, Any], *table: tuple[str, str]) -> list[str]:
    """The flags of ``table`` whose boolean argument is true."""
    return [flag for flag, key in table if args.get(key)]


def _options(args: Mapping[str, Any], *table: tuple[str, str]) -> list[str]:
    """``flag value`` for each argument of ``table`` that is given."""
    out: list[str] = []
    for flag, key in table:
        if args.get(key) is not None:
            out += [flag, str(args[key])]
    return out


def _limits(args: Mapping[str, Any], *table: tuple[str, str]) -> list[str]:
    """``-K SETTING=value`` (login.defs overrides) for each argument of ``table`` given."""
    out: list[str] = []
    for key, setting in table:
        if args.get(key) is not None:
            out += ["-K", f"{setting}={args[key]}"]
    return out


def _useradd(args: Mapping[str, Any], name: str, acc: Accounts, create_home: bool) -> list[str]:
    argv = ["useradd", *_options(args, ("-u", "uid"))]
    if args.get("uid") is not None:
        argv += _switches(args, ("-o", "non_unique"))
    argv += _options(args, ("-Z", "seuser"))
    if args.get("group") is not None:
        argv += ["-g", _existing_group(acc, args["group"]).name]
    elif acc.group(name) is not None:
        argv.append("-N")  # a group of the user's name exists: do not let useradd make one
    refs = _group_refs(args)
    if refs:
        argv += ["-G", ",".join(_existing_group(acc, g).name for g in refs)]
    argv += _options(args, ("-c", "comment"), ("-d", "home"), ("-s", "shell"))
    if args.get("expires") is not None:
        argv += ["-e", _expiry(args)]
    argv += _options(args, ("-f", "password_expire_account_disable"))
    if args.get("password") is not None:
        argv += ["-p", ("!" if args.get("password_lock") else "") + args["password"]]
    if create_home:
        argv += ["-m", *_options(args, ("-k", "skeleton")), *_limits(args, ("umask", "UMASK"))]
    else:
        argv.append("-M")
    argv += _switches(args, ("-r", "system"))
    argv += _limits(args, ("uid_min", "UID_MIN"), ("uid_max", "UID_MAX"))
    argv.append(name)
    if create_home and args.get("home"):
        # useradd makes the home, not its parents: make those first, as Ansible does.
        parent = posixpath.dirname(str(args["home"]).rstrip("/")) or "/"
        return ["sh", "-c", f'mkdir -p {shlex.quote(parent)} && exec "$@"', "sh", *argv]
    return argv


def _usermod(args: Mapping[str, Any], name: str, acc: Accounts) -> list[str]:
    """The usermod options that bring the user to ``args`` (empty when it is there)."""
    entry = acc.passwd
    assert entry is not None
    argv: list[str] = []
    if args.get("uid") is not None and entry.uid != int(args["uid"]):
        argv += ["-u", str(args["uid"]), *_switches(args, ("-o", "non_unique"))]
    if args.get("group") is not None:
        wanted = _existing_group(acc, args["group"])
        if entry.gid != wanted.gid:
            argv += ["-g", str(wanted.gid)]
    if args.get("groups") is not None:
        argv += _groups_options(args, name, acc)
    for flag, key, current in (("-c", "comment", entry.comment), ("-d", "home", entry.home)):
        if args.get(key) is not None and current != args[key]:
            argv += [flag, str(args[key])]
            if key == "home" and args.get("move_home"):
                argv.append("-m")
    if args.get("shell") is not None and entry.shell != args["shell"]:
        argv += ["-s", str(args["shell"])]
    if args.get("expires") is not None and _expiry_differs(args, acc):
        argv += ["-e", _expiry(args)]
    argv += _options(args, ("-f", "password_expire_account_disable"))
    return _password_options(args, acc, argv)


def _password_options(args: Mapping[str, Any], acc: Accounts, argv: list[str]) -> list[str]:
    """``argv`` plus the lock, unlock or new-hash options Ansible's usermod call adds."""
    current = acc.password
    lock = args.get("password_lock")
    if lock and not current.startswith("!"):
        argv.append("-L")
    elif lock is False and current.startswith("!"):
        argv.append("-U")
    password = args.get("password")
    always = args.get("update_password", "always") == "always"
    if always and password is not None and current.lstrip("!") != password.lstrip("!"):
        argv = [o for o in argv if o not in ("-L", "-U")]
        argv += ["-p", ("!" if lock else "") + password]
    return argv


def _groups_options(args: Mapping[str, Any], name: str, acc: Accounts) -> list[str]:
    refs = _group_refs(args)
    current = set(acc.member_of(name))
    if not refs:
        return ["-G", ""] if current and not args.get("append") else []
    wanted = [_existing_group(acc, g).name for g in refs]
    differ = current.symmetric_difference(wanted)
    if not differ:
        return []
    if args.get("append"):
        return ["-a", "-G", ",".join(wanted)] if any(g in differ for g in wanted) else []
    return ["-G", ",".join(wanted)]


def _expiry_differs(args: Mapping[str, Any], acc: Accounts) -> bool:
    current = acc.shadow.expire if acc.shadow is not None else None
    expires = float(args["expires"])
    if expires < 0:
        return current is not None and current >= 0
    if current is None or current < 0:
        return True
    return time.gmtime(current * 86400)[:3] != time.gmtime(expires)[:3]


def _make_home(ctx: StepContext, home: str, uid: int, gid: int) -> bool:
    """Create a missing home from /etc/skel (as Ansible does after the fact); whether it was."""
    if not home or ctx.conn.stat(home, become=ctx.become, timeout=ctx.timeout) is not None:
        return False
    if ctx.check_mode:
        return True
    script = (
        'mkdir -p "$1" && if [ -d /etc/skel ]; then cp -a /etc/skel/. "$1"; fi'
        ' && chown -R "$2:$3" "$1"'
    )
    result = run(ctx, ["sh", "-c", script, "sh", home, str(uid), str(gid)])
    if result.rc != 0:
        raise StepFailed(f"cannot create home directory {home}: {result.stderr.strip()}")
    return True


def _ageing(ctx: StepContext, args: Mapping[str, Any], name: str, acc: Accounts) -> bool:
    """``chage`` for password_expire_min/max/warn that differ; whether any did."""
    shadow = acc.shadow
    argv: list[str] = []
    for flag, key, field in (("-m", "min", "min"), ("-M", "max", "max"), ("-W", "warn", "warn")):
        wanted = args.get(f"password_expire_{key}")
        if wanted is not None and (shadow is None or getattr(shadow, field) != wanted):
            argv += [flag, str(wanted)]
    if not argv:
        return False
    if not ctx.check_mode:
        result = run(ctx, ["chage", *argv, name])
        if result.rc != 0:
            raise StepFailed(f"chage failed: {result.stderr.strip()}")
    return True

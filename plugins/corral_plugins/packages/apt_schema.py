"""The arguments of the ``apt`` step: Ansible's, with its aliases (``pkg``, ``update-cache``...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["APT_SCHEMA", "NAME_PROPERTY", "alias"]

NAME_PROPERTY: Mapping[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Packages to manage: a list, or a comma-separated string. `foo=1.2*` pins a "
    "version (wildcards allowed). All of them are installed in one transaction.",
}


def alias(name: str, kind: str = "boolean") -> dict[str, Any]:
    """A property that is another name for ``name`` (Ansible's aliases)."""
    return {"type": kind, "description": f"Another name for `{name}`."}


_STATES = ["present", "absent", "latest", "build-dep", "fixed"]
_UPGRADES = ["dist", "full", "no", "safe", "yes"]

APT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": NAME_PROPERTY,
        "package": {**NAME_PROPERTY, "description": "Another name for `name`."},
        "pkg": {**NAME_PROPERTY, "description": "Another name for `name`."},
        "state": {
            "enum": _STATES,
            "default": "present",
            "description": "`present`: installed (any version, or the pinned one); `latest`: "
            "upgraded to the candidate version; `absent`: removed; `build-dep`: the packages' "
            "build dependencies installed; `fixed`: broken dependencies repaired.",
        },
        "update_cache": {
            "type": "boolean",
            "description": "Run `apt-get update` first (skipped while the cache is younger "
            "than `cache_valid_time`). Alone, the task reports changed when the lists changed.",
        },
        "update-cache": alias("update_cache"),
        "cache_valid_time": {
            "type": "integer",
            "default": 0,
            "description": "Seconds the package lists stay fresh: the cache is updated only "
            "when older (their age is the mtime of /var/lib/apt/periodic/update-success-stamp, "
            "else of /var/lib/apt/lists). Implies `update_cache`.",
        },
        "update_cache_retries": {
            "type": "integer",
            "default": 5,
            "description": "Attempts at `apt-get update` before failing.",
        },
        "update_cache_retry_max_delay": {
            "type": "integer",
            "default": 12,
            "description": "The longest pause, in seconds, between attempts (they double).",
        },
        "purge": {
            "type": "boolean",
            "default": False,
            "description": "With `state: absent` (or `autoremove`), remove configuration "
            "files too; a package left with only its configuration files is purged.",
        },
        "default_release": {
            "type": "string",
            "description": "The release packages are installed from (`apt-get -t`).",
        },
        "default-release": alias("default_release", "string"),
        "install_recommends": {
            "type": "boolean",
            "description": "Install recommended packages too (yes/no); unset: the host's "
            "apt configuration decides.",
        },
        "install-recommends": alias("install_recommends"),
        "force": {
            "type": "boolean",
            "default": False,
            "description": "Allow unauthenticated packages, downgrades, removing essential and "
            "changing held packages. Dangerous.",
        },
        "clean": {
            "type": "boolean",
            "default": False,
            "description": "Run `apt-get clean` (delete all downloaded .deb files).",
        },
        "allow_unauthenticated": {
            "type": "boolean",
            "default": False,
            "description": "Install packages from repositories that are not signed.",
        },
        "allow-unauthenticated": alias("allow_unauthenticated"),
        "allow_downgrade": {
            "type": "boolean",
            "default": False,
            "description": "Let a version pin install an older version than the one installed.",
        },
        "allow-downgrade": alias("allow_downgrade"),
        "allow_downgrades": alias("allow_downgrade"),
        "allow-downgrades": alias("allow_downgrade"),
        "allow_change_held_packages": {
            "type": "boolean",
            "default": False,
            "description": "Let held packages be installed, upgraded or removed.",
        },
        "upgrade": {
            "anyOf": [{"type": "boolean"}, {"enum": _UPGRADES}],
            "default": "no",
            "description": "Upgrade the whole system: `yes`/`safe` (`apt-get upgrade "
            "--with-new-pkgs`), `dist`/`full` (`apt-get dist-upgrade`), `no`.",
        },
        "dpkg_options": {
            "type": "string",
            "default": "force-confdef,force-confold",
            "description": "Comma-separated dpkg options, each given as "
            "`-o Dpkg::Options::=--OPTION`.",
        },
        "deb": {
            "type": "string",
            "description": "A .deb file to install: a path on the host, else a path on the "
            "controller (uploaded), or a URL (downloaded by the controller). Its dependencies "
            "come from the repositories, in the same transaction.",
        },
        "autoremove": {
            "type": "boolean",
            "default": False,
            "description": "Remove packages installed as dependencies that nothing needs now.",
        },
        "autoclean": {
            "type": "boolean",
            "default": False,
            "description": "Delete downloaded .deb files that can no longer be downloaded.",
        },
        "policy_rc_d": {
            "type": "integer",
            "description": "Write /usr/sbin/policy-rc.d with this exit code for the duration "
            "(101: do not start services the packages install); the previous file is restored.",
        },
        "only_upgrade": {
            "type": "boolean",
            "default": False,
            "description": "Only upgrade packages already installed; install no new ones.",
        },
        "fail_on_autoremove": {
            "type": "boolean",
            "default": False,
            "description": "Fail rather than remove packages (`apt-get --no-remove`).",
        },
        "force_apt_get": {
            "type": "boolean",
            "default": False,
            "description": "Accepted for compatibility: corral always uses apt-get.",
        },
        "lock_timeout": {
            "type": "integer",
            "default": 60,
            "description": "Seconds to wait for the dpkg lock held by another apt or dpkg.",
        },
    },
}

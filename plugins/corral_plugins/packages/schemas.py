"""The arguments of the package steps other than ``apt`` (whose are in :mod:`.apt_schema`).

Plain data, imported when the plugin registers its steps: no step's code comes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.packages.apt_schema import NAME_PROPERTY, alias

__all__ = [
    "APK_SCHEMA",
    "APT_KEY_SCHEMA",
    "APT_REPOSITORY_SCHEMA",
    "DEB822_SCHEMA",
    "DNF_SCHEMA",
    "DPKG_SELECTIONS_SCHEMA",
    "MANAGERS",
    "PACKAGE_FACTS_SCHEMA",
    "PACKAGE_SCHEMA",
    "PIP_SCHEMA",
    "RPM_KEY_SCHEMA",
]

PACKAGE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "required": ["name", "state"],
    "properties": {
        "name": NAME_PROPERTY,
        "state": {
            "type": "string",
            "description": "`present`, `absent` or `latest` (whatever the backend accepts).",
        },
        "use": {
            "type": "string",
            "default": "auto",
            "description": "The backend (`apt`, `dnf`, `yum`, `apk`); `auto`: the host's "
            "`ansible_pkg_mgr` fact. Other arguments are passed to it.",
        },
    },
}

APK_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": NAME_PROPERTY,
        "state": {
            "enum": ["present", "installed", "absent", "removed", "latest"],
            "default": "present",
            "description": "`present`/`installed`, `latest`, `absent`/`removed`.",
        },
        "update_cache": {"type": "boolean", "default": False, "description": "`apk update`."},
        "upgrade": {"type": "boolean", "default": False, "description": "`apk upgrade`."},
        "available": {
            "type": "boolean",
            "default": False,
            "description": "With `upgrade`: `apk upgrade --available`.",
        },
        "repository": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Repositories to use (`--repository`).",
        },
        "no_cache": {"type": "boolean", "default": False, "description": "`--no-cache`."},
        "world": {"type": "string", "default": "/etc/apk/world", "description": "Accepted."},
    },
}

DNF_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": NAME_PROPERTY,
        "pkg": {**NAME_PROPERTY, "description": "Another name for `name`."},
        "state": {
            "enum": ["present", "installed", "latest", "absent", "removed"],
            "description": "`present`/`installed`, `latest`, `absent`/`removed` (default: "
            "present, or latest for `name: '*'`).",
        },
        "update_cache": {"type": "boolean", "default": False, "description": "Expire the cache."},
        "expire-cache": alias("update_cache"),
        "enablerepo": {"type": "array", "items": {"type": "string"}, "description": "Repos on."},
        "disablerepo": {"type": "array", "items": {"type": "string"}, "description": "Repos off."},
        "exclude": {"type": "array", "items": {"type": "string"}, "description": "Left out."},
        "conf_file": {"type": "string", "description": "Another dnf.conf."},
        "disable_gpg_check": {"type": "boolean", "default": False, "description": "--nogpgcheck."},
        "installroot": {"type": "string", "default": "/", "description": "--installroot."},
        "releasever": {"type": "string", "description": "--releasever."},
        "autoremove": {"type": "boolean", "default": False, "description": "Remove leaves."},
        "allowerasing": {"type": "boolean", "default": False, "description": "--allowerasing."},
        "nobest": {"type": "boolean", "description": "--nobest."},
        "skip_broken": {"type": "boolean", "default": False, "description": "--skip-broken."},
        "security": {"type": "boolean", "default": False, "description": "--security."},
        "bugfix": {"type": "boolean", "default": False, "description": "--bugfix."},
        "install_weak_deps": {
            "type": "boolean",
            "default": True,
            "description": "Install weak dependencies (Recommends).",
        },
        "download_only": {"type": "boolean", "default": False, "description": "--downloadonly."},
        "cacheonly": {"type": "boolean", "default": False, "description": "--cacheonly."},
        "update_only": {"type": "boolean", "default": False, "description": "Only upgrade."},
        "lock_timeout": {"type": "integer", "default": 30, "description": "Accepted."},
        "use_backend": {"type": "string", "description": "Accepted; the command decides."},
        "disable_plugin": {"type": "array", "items": {"type": "string"}, "description": "Off."},
        "enable_plugin": {"type": "array", "items": {"type": "string"}, "description": "On."},
    },
}

PIP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["requirements"]}],
    "properties": {
        "name": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Packages, with optional version specifiers (`requests>=2.31`).",
        },
        "version": {"type": "string", "description": "The version of the single `name`."},
        "requirements": {
            "type": "string",
            "description": "A requirements file on the host (relative to `chdir`).",
        },
        "virtualenv": {
            "type": "string",
            "description": "A virtualenv to install into; created when missing.",
        },
        "virtualenv_command": {
            "type": "string",
            "default": "virtualenv",
            "description": "The command that creates it (`python3 -m venv` works).",
        },
        "virtualenv_python": {
            "type": "string",
            "description": "The Python the virtualenv is made for (`virtualenv -p`).",
        },
        "virtualenv_site_packages": {
            "type": "boolean",
            "default": False,
            "description": "Let the virtualenv see the system's site-packages.",
        },
        "state": {
            "enum": ["present", "absent", "latest", "forcereinstall"],
            "default": "present",
            "description": "`present`, `latest` (upgrade), `absent`, `forcereinstall`.",
        },
        "extra_args": {"type": "string", "description": "More arguments for pip."},
        "editable": {"type": "boolean", "default": False, "description": "`pip install -e`."},
        "chdir": {"type": "string", "description": "The directory pip runs in."},
        "executable": {
            "type": "string",
            "description": "The pip to run (`pip3.11`, a path); not with `virtualenv`.",
        },
        "umask": {"type": "string", "description": "Accepted; pip runs with the host's umask."},
        "break_system_packages": {
            "type": "boolean",
            "default": False,
            "description": "Allow installing into an externally managed Python (PEP 668).",
        },
    },
}

MANAGERS = ("auto", "apt", "rpm", "apk")

PACKAGE_FACTS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "manager": {
            "anyOf": [
                {"type": "string", "enum": list(MANAGERS)},
                {"type": "array", "items": {"type": "string", "enum": list(MANAGERS)}},
            ],
            "default": ["auto"],
            "description": "The package managers to ask: `auto` (the host's), `apt`, "
            "`rpm` or `apk`.",
        },
        "strategy": {
            "type": "string",
            "enum": ["first", "all"],
            "default": "first",
            "description": "With several managers: stop at the first that answers, or ask all.",
        },
    },
}

APT_REPOSITORY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["repo"],
    "properties": {
        "repo": {
            "type": "string",
            "description": "The source line, as in sources.list: "
            "`deb [signed-by=/etc/apt/keyrings/x.asc] http://host/debian bookworm main`.",
        },
        "state": {"enum": ["present", "absent"], "default": "present", "description": "Wanted."},
        "filename": {
            "type": "string",
            "description": "The file's name in /etc/apt/sources.list.d, without `.list`; "
            "default: made from the repository's URL.",
        },
        "mode": {
            "type": ["string", "integer"],
            "description": "The file's mode for a new file (default `0644`).",
        },
        "update_cache": {
            "type": "boolean",
            "default": True,
            "description": "Run `apt-get update` when a source was added or removed.",
        },
        "update-cache": alias("update_cache"),
        "update_cache_retries": {"type": "integer", "default": 5, "description": "Attempts."},
        "update_cache_retry_max_delay": {
            "type": "integer",
            "default": 12,
            "description": "The longest pause between attempts, in seconds.",
        },
        "validate_certs": {"type": "boolean", "default": True, "description": "Accepted; unused."},
        "install_python_apt": {"type": "boolean", "description": "Accepted; unused."},
        "codename": {"type": "string", "description": "Accepted; used by Ubuntu PPAs only."},
    },
}


def _list(text: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": text}


def _bool(text: str) -> dict[str, Any]:
    return {"type": "boolean", "description": text}


DEB822_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "description": "The repository's name (X-Repolib-Name)."},
        "types": {
            "type": "array",
            "items": {"enum": ["deb", "deb-src"]},
            "default": ["deb"],
            "description": "`deb` and/or `deb-src`.",
        },
        "uris": _list("The repository's URLs."),
        "suites": _list("Suites (`bookworm`), or a path ending in `/` for a flat repository."),
        "components": _list("Components (`main`); none for a flat repository."),
        "signed_by": {
            "type": "string",
            "description": "A keyring path on the host, a URL to download the key from, or "
            "an ASCII-armored key.",
        },
        "architectures": _list("Architectures to fetch."),
        "languages": _list("Translations to fetch."),
        "targets": _list("Index targets to fetch."),
        "allow_downgrade_to_insecure": _bool("Allow-Downgrade-To-Insecure."),
        "allow_insecure": _bool("Allow-Insecure."),
        "allow_weak": _bool("Allow-Weak."),
        "by_hash": _bool("By-Hash."),
        "check_date": _bool("Check-Date."),
        "check_valid_until": _bool("Check-Valid-Until."),
        "date_max_future": {"type": "integer", "description": "Date-Max-Future."},
        "enabled": _bool("Enabled."),
        "inrelease_path": {"type": "string", "description": "Inrelease-Path."},
        "pdiffs": _bool("PDiffs."),
        "trusted": _bool("Trusted: accept the repository unsigned."),
        "mode": {
            "type": ["string", "integer"],
            "default": "0644",
            "description": "The .sources file's mode.",
        },
        "state": {"enum": ["present", "absent"], "default": "present", "description": "Wanted."},
        "install_python_debian": {"type": "boolean", "description": "Accepted; unused."},
    },
}


DPKG_SELECTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "selection"],
    "properties": {
        "name": {"type": "string", "description": "The package (a dpkg pattern: its first match)."},
        "selection": {
            "enum": ["install", "hold", "deinstall", "purge"],
            "description": "The selection state to record: `hold` keeps apt from "
            "upgrading or removing the package.",
        },
    },
}


RPM_KEY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key"],
    "properties": {
        "key": {
            "type": "string",
            "description": "A URL (fetched by the controller), a file on the host, or a key "
            "id (`0x` and 8 or more hex digits: to remove a key, or to see it is there).",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Import the key, or remove it from rpm's database.",
        },
        "fingerprint": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
            "description": "Fingerprint(s) the key file must have, or nothing is imported.",
        },
        "validate_certs": {
            "type": "boolean",
            "default": True,
            "description": "Check the TLS certificate of a URL `key` (always checked).",
        },
    },
}

_KEY_SOURCES = ("data", "file", "keyserver", "url")

APT_KEY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    # Ansible's mutually_exclusive: one source of the key at most.
    "not": {
        "anyOf": [
            {"required": [a, b]} for i, a in enumerate(_KEY_SOURCES) for b in _KEY_SOURCES[i + 1 :]
        ]
    },
    "properties": {
        "id": {
            "type": "string",
            "description": "The key's id (8, 16 or more hex digits, `0x` allowed); read from "
            "the key when not given. Needed with `keyserver` and to remove a key.",
        },
        "data": {"type": "string", "description": "The key itself, armored."},
        "file": {"type": "string", "description": "A key file on the host."},
        "url": {"type": "string", "description": "Where the controller downloads the key."},
        "keyserver": {
            "type": "string",
            "description": "A keyserver the host fetches `id` from (`apt-key adv --recv`).",
        },
        "keyring": {
            "type": "string",
            "description": "The keyring file to use instead of apt's trusted one.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Add the key, or remove it.",
        },
        "validate_certs": {
            "type": "boolean",
            "default": True,
            "description": "Check the TLS certificate of `url` (always checked).",
        },
    },
}

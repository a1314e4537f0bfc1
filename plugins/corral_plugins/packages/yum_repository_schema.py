"""The arguments of ``yum_repository``: Ansible's, with what each becomes in the .repo file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.files.schemas import GROUP_PROPERTY, MODE_PROPERTY, OWNER_PROPERTY

__all__ = ["ALIASES", "LIST_OPTIONS", "REPO_OPTIONS", "YUM_REPOSITORY_SCHEMA"]


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _flag(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description + " (written as 1 or 0)."}


def _choice(description: str, *values: str) -> dict[str, Any]:
    return {"enum": list(values), "description": description}


def _list(description: str) -> dict[str, Any]:
    return {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
        "description": description,
    }


# The repository's own options: each given one is a `key = value` line of its section.
REPO_OPTIONS: dict[str, dict[str, Any]] = {
    "async": _flag("Download in parallel (deprecated by Ansible)"),
    "bandwidth": _text("Maximum bandwidth to use (e.g. `1M`)."),
    "baseurl": _list("URL(s) of the repository; a list is one URL per line."),
    "cost": _text("The repository's cost, against the others'."),
    "countme": _flag("Count this system in the mirrors' statistics"),
    "deltarpm_metadata_percentage": _text("Kept for Ansible; no effect with dnf."),
    "deltarpm_percentage": _text("When to use a delta RPM instead of the whole package."),
    "enabled": _flag("Whether the repository is used"),
    "enablegroups": _flag("Whether its package groups are used"),
    "exclude": _list("Packages never taken from it (globs); a list is space-separated."),
    "failovermethod": _choice("How mirrors are tried.", "roundrobin", "priority"),
    "gpgcakey": _text("Kept for Ansible; no effect with dnf."),
    "gpgcheck": _flag("Check the packages' GPG signatures"),
    "gpgkey": _list("URL(s) of the signing key(s); a list is one URL per line."),
    "http_caching": _choice("Kept for Ansible; no effect with dnf.", "all", "packages", "none"),
    "include": _text("A file or URL whose lines are included here."),
    "includepkgs": _list("Only these packages are taken from it; a list is space-separated."),
    "ip_resolve": _choice("IP version to use.", "4", "6", "IPv4", "IPv6", "whatever"),
    "keepalive": _flag("Kept for Ansible; no effect with dnf"),
    "keepcache": _choice("Keep downloaded packages (deprecated by Ansible).", "0", "1"),
    "metadata_expire": _text("How long its metadata stays fresh (seconds, or `1h`...)."),
    "metadata_expire_filter": _choice(
        "Kept for Ansible; no effect with dnf.",
        "never",
        "read-only:past",
        "read-only:present",
        "read-only:future",
    ),
    "metalink": _text("URL of a metalink file listing the mirrors."),
    "mirrorlist": _text("URL of a file listing the mirrors."),
    "mirrorlist_expire": _text("Kept for Ansible; no effect with dnf."),
    "module_hotfixes": _flag("Let its packages override modular filtering"),
    "password": _text("Password for the repository's HTTP authentication."),
    "priority": _text("Its priority: lower wins (1-99)."),
    "protect": _flag("Kept for Ansible; no effect with dnf"),
    "proxy": _text("Proxy URL, or `_none_`."),
    "proxy_password": _text("Proxy password."),
    "proxy_username": _text("Proxy user name."),
    "repo_gpgcheck": _flag("Check the repository metadata's GPG signature"),
    "retries": _text("How many times a download is tried."),
    "s3_enabled": _flag("The repository is on S3"),
    "skip_if_unavailable": _flag("Go on when it cannot be reached"),
    "ssl_check_cert_permissions": _flag("Kept for Ansible; no effect with dnf"),
    "sslcacert": _text("CA certificate to check the server's with."),
    "sslclientcert": _text("Client certificate."),
    "sslclientkey": _text("Client certificate's key."),
    "sslverify": _flag("Check the server's TLS certificate"),
    "throttle": _text("Bandwidth limit (a rate or a percentage of `bandwidth`)."),
    "timeout": _text("Seconds a connection may wait."),
    "ui_repoid_vars": _text("Kept for Ansible; no effect with dnf."),
    "username": _text("User name for the repository's HTTP authentication."),
}
LIST_OPTIONS = {"baseurl": "\n", "gpgkey": "\n", "exclude": " ", "includepkgs": " "}
ALIASES = {
    "excludepkgs": "exclude",
    "ca_cert": "sslcacert",
    "client_cert": "sslclientcert",
    "client_key": "sslclientkey",
    "validate_certs": "sslverify",
}

YUM_REPOSITORY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _text("The repository's id: its `[section]` (and file, unless `file`)."),
        "description": _text("Its human name (the `name =` line); needed with `present`."),
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "`present` writes the section (replacing it whole), `absent` "
            "removes it (and the file once it has no section left).",
        },
        "file": _text("The file's name without `.repo` (default: `name`)."),
        "reposdir": {
            "type": "string",
            "default": "/etc/yum.repos.d",
            "description": "The directory of the .repo files; it must exist.",
        },
        "mode": MODE_PROPERTY,
        "owner": OWNER_PROPERTY,
        "group": GROUP_PROPERTY,
        **REPO_OPTIONS,
        **{
            alias: {**REPO_OPTIONS[name], "description": f"Another name for `{name}`."}
            for alias, name in ALIASES.items()
        },
    },
}

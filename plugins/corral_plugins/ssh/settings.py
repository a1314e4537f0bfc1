"""The host variables the ``ssh`` connection reads, and their defaults.

:data:`SETTINGS` is what ``corral plugins`` and the docs list; :mod:`.config` reads them.
"""

from __future__ import annotations

from corral import ConnectionSetting

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_KEEPALIVE",
    "DEFAULT_KEY_NAMES",
    "DEFAULT_RETRY_DELAY",
    "SETTINGS",
]

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_KEEPALIVE = 15.0
DEFAULT_RETRY_DELAY = 1.0
DEFAULT_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")

SETTINGS = (
    ConnectionSetting("ansible_host", "the address or name to connect to", "the inventory name"),
    ConnectionSetting("ansible_port", "the SSH port", 22),
    ConnectionSetting("ansible_user", "the user to log in as", "the local user"),
    ConnectionSetting(
        "ansible_password",
        "a password to log in with (use a secret); tried after the key files",
        None,
    ),
    ConnectionSetting(
        "ansible_ssh_private_key_file",
        "a private key file to log in with (a list is accepted)",
        None,
    ),
    ConnectionSetting(
        "ansible_ssh_common_args",
        "ssh options: -o Key=Value, -J JUMP, -p PORT, -l USER, -i KEY, -F CONFIG "
        "(options with no meaning for corral, such as ControlPersist, are ignored)",
        None,
    ),
    ConnectionSetting(
        "ansible_ssh_extra_args", "more ssh options, read as ansible_ssh_common_args", None
    ),
    ConnectionSetting(
        "host_key_checking",
        "strict (the key must be known), accept-new (record unknown keys) or off; "
        "also ansible_host_key_checking (true is strict, false is off)",
        "strict",
    ),
    ConnectionSetting(
        "corral_known_hosts",
        "corral's known_hosts file, read with ~/.ssh/known_hosts and written by accept-new",
        "$CORRAL_HOME/known_hosts",
    ),
    ConnectionSetting("corral_ssh_config", "the ssh_config file to read", "~/.ssh/config"),
    ConnectionSetting(
        "corral_ssh_proxy_jump",
        "jump hosts to go through, as ProxyJump: [user@]host[:port][,...]",
        None,
    ),
    ConnectionSetting(
        "corral_ssh_connect_timeout", "seconds to connect, log in and open a channel", 10
    ),
    ConnectionSetting(
        "corral_ssh_connect_retries",
        "extra connection attempts after a refused, reset or timed-out connect",
        0,
    ),
    ConnectionSetting(
        "corral_ssh_retry_delay",
        "seconds before the first retry; doubles each time (at most 30)",
        1,
    ),
    ConnectionSetting(
        "corral_ssh_keepalive",
        "seconds between keepalives; the link is dropped after 3 unanswered (0 disables)",
        15,
    ),
    ConnectionSetting(
        "corral_ssh_command_timeout",
        "seconds a command may run when its task sets no timeout (none: no limit)",
        None,
    ),
    ConnectionSetting("corral_ssh_agent", "offer the keys of the SSH agent ($SSH_AUTH_SOCK)", True),
    ConnectionSetting(
        "corral_ssh_look_for_keys", "offer ~/.ssh/id_ed25519, id_ecdsa and id_rsa too", True
    ),
    ConnectionSetting("ansible_become_exe", "the sudo executable on the host", "sudo"),
)

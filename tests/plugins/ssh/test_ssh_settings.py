"""How the ssh connection reads its settings and known_hosts files (no sshd), and its docs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from corral import ConnectionType, HostUnreachable, Secret, StepType
from corral.testing import simulated
from corral_plugins import ping, ssh
from corral_plugins.ssh.config import resolve_target
from corral_plugins.ssh.hostkeys import (
    KnownHosts,
    check_host_key,
    fingerprint,
    names_match,
    parse_known_hosts,
    parse_policy,
)
from corral_plugins.ssh.ssh_config import SshConfigFiles, parse_jump, parse_ssh_args

DOCS = Path(__file__).resolve().parents[3] / "docs"
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIASOghjk7ct9Nmi6wwTb06mLzFwFoiY6GIHavUecDp3N"
OTHER = "AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKeyOth"


def resolve(variables: dict[str, Any], tmp_path: Path, config: str = "") -> Any:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    if config:
        (home / ".ssh" / "config").write_text(config)
    environ = {"HOME": str(home), "USER": "operator", "CORRAL_HOME": str(tmp_path / "corral")}
    return resolve_target("web01", variables, environ=environ, configs=SshConfigFiles())


# -- ssh options and ProxyJump -----------------------------------------------------------


def test_ssh_args_become_config_keys_and_the_first_value_wins() -> None:
    args = parse_ssh_args(
        "-o StrictHostKeyChecking=accept-new -o ControlPersist=60s -J ops@bastion:2222 "
        "-p 2200 -oUser=first -l second -i ~/k1 -o IdentityFile=~/k2 -o 'ProxyJump other'"
    )
    assert args == {
        "stricthostkeychecking": "accept-new",
        "proxyjump": "ops@bastion:2222",
        "port": "2200",
        "user": "first",
        "identityfile": ["~/k1", "~/k2"],
    }


@pytest.mark.parametrize(
    ("spec", "hops"),
    [
        ("bastion", [(None, "bastion", None)]),
        ("ops@bastion:2222,inner", [("ops", "bastion", 2222), (None, "inner", None)]),
        ("ssh://ops@[::1]:22", [("ops", "::1", 22)]),
        ("none", []),
    ],
)
def test_proxy_jump_specs(spec: str, hops: list[Any]) -> None:
    assert parse_jump(spec) == hops


def test_a_bad_jump_port_is_unreachable() -> None:
    with pytest.raises(HostUnreachable, match="'x' is not a port number"):
        parse_jump("bastion:x")


# -- resolution ---------------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    target = resolve({}, tmp_path)
    assert (target.hop.address, target.hop.port, target.hop.user) == ("web01", 22, "operator")
    assert target.hop.known_names == ("web01",)
    assert target.host_key_checking == "strict"
    assert target.connect_timeout == 10
    assert target.connect_retries == 0
    assert target.keepalive == 15
    assert target.command_timeout is None
    assert target.corral_known_hosts == tmp_path / "corral" / "known_hosts"
    assert tmp_path / "home" / ".ssh" / "known_hosts" in target.known_hosts_files
    assert [p.name for p in target.default_key_files] == ["id_ed25519", "id_ecdsa", "id_rsa"]


def test_host_variables_beat_ssh_args_which_beat_ssh_config(tmp_path: Path) -> None:
    config = (
        "Host web01 10.0.0.9\n  HostName 10.0.0.9\n  Port 2201\n  User fromconfig\n"
        "  IdentityFile ~/.ssh/cfg\n"
    )
    from_config = resolve({}, tmp_path, config)
    assert (from_config.hop.address, from_config.hop.port, from_config.hop.user) == (
        "10.0.0.9",
        2201,
        "fromconfig",
    )
    assert [p.name for p in from_config.key_files] == ["cfg"]
    from_args = resolve({"ansible_ssh_common_args": "-p 2202 -l fromargs"}, tmp_path, config)
    assert (from_args.hop.port, from_args.hop.user) == (2202, "fromargs")
    from_vars = resolve(
        {"ansible_ssh_common_args": "-p 2202", "ansible_port": 2203, "ansible_user": "fromvars"},
        tmp_path,
        config,
    )
    assert (from_vars.hop.port, from_vars.hop.user) == (2203, "fromvars")
    assert from_vars.hop.known_names == ("[10.0.0.9]:2203",)


def test_ansible_host_is_looked_up_in_ssh_config(tmp_path: Path) -> None:
    target = resolve(
        {"ansible_host": "alias"},
        tmp_path,
        "Host alias\n  HostName 192.0.2.7\n  ProxyJump ops@gw\n",
    )
    assert target.hop.address == "192.0.2.7"
    (jump,) = target.jumps
    assert (jump.address, jump.port, jump.user) == ("gw", 22, "ops")


def test_settings_are_typed(tmp_path: Path) -> None:
    target = resolve(
        {
            "ansible_password": "hunter2",
            "ansible_host_key_checking": False,
            "corral_ssh_connect_timeout": "2.5",
            "corral_ssh_connect_retries": 3,
            "corral_ssh_keepalive": 0,
            "corral_ssh_command_timeout": 600,
            "corral_ssh_agent": "no",
            "ansible_ssh_private_key_file": "~/.ssh/deploy",
        },
        tmp_path,
    )
    assert isinstance(target.password, Secret)
    assert target.password.reveal() == "hunter2"
    assert target.host_key_checking == "off"
    assert (target.connect_timeout, target.connect_retries, target.keepalive) == (2.5, 3, 0)
    assert target.command_timeout == 600
    assert not target.use_agent
    assert target.key_files == (tmp_path / "home" / ".ssh" / "deploy",)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"ansible_port": "eighty"}, "ansible_port must be a port number"),
        ({"host_key_checking": "maybe"}, "host_key_checking must be one of"),
        ({"corral_ssh_connect_timeout": "soon"}, "must be a number of seconds"),
        ({"corral_ssh_connect_retries": -1}, "must be a whole number"),
        ({"ansible_host": "{{ inventory_hostname }}.example"}, "is a template"),
        (
            {"ansible_ssh_common_args": "-o ProxyCommand='nc %h %p'"},
            "ProxyCommand is not supported",
        ),
    ],
)
def test_unusable_settings_make_the_host_unreachable(
    tmp_path: Path, variables: dict[str, Any], message: str
) -> None:
    with pytest.raises(HostUnreachable, match=message):
        resolve(variables, tmp_path)


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        (True, "strict"),
        (False, "off"),
        ("accept_new", "accept-new"),
        ("no", "off"),
        ("yes", "strict"),
    ],
)
def test_policies(value: Any, policy: str) -> None:
    assert parse_policy(value) == policy


# -- known_hosts ---------------------------------------------------------------------------


def _hashed(name: str) -> str:
    salt = b"0123456789abcdefghij"
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_host_patterns() -> None:
    assert names_match("web01,[10.0.0.5]:2222", "[10.0.0.5]:2222")
    assert not names_match("[10.0.0.5]:2222", "10.0.0.5")
    assert names_match("*.example.com,!bad.example.com", "good.example.com")
    assert not names_match("*.example.com,!bad.example.com", "bad.example.com")
    assert names_match("db?", "db1")
    assert names_match(_hashed("[10.0.0.5]:2222"), "[10.0.0.5]:2222")
    assert not names_match(_hashed("[10.0.0.5]:2222"), "10.0.0.5")


def test_known_hosts_lines() -> None:
    text = f"# comment\n\nweb01 ssh-ed25519 {KEY} me@there\n@revoked * ssh-rsa AAAA\nbroken line\n"
    keys = parse_known_hosts(text, "kh")
    assert [(k.patterns, k.key_type, k.where, k.marker) for k in keys] == [
        ("web01", "ssh-ed25519", "kh:3", ""),
        ("*", "ssh-rsa", "kh:4", "@revoked"),
    ]


def _check(tmp_path: Path, text: str, policy: str, blob: str = KEY) -> str:
    mine = tmp_path / "corral_known_hosts"
    user = tmp_path / "known_hosts"
    user.write_text(text)
    return check_host_key(
        KnownHosts(),
        label="web01:22",
        names=("web01",),
        read_files=[user],
        write_file=mine,
        key_type="ssh-ed25519",
        blob=blob,
        policy=policy,
    )


def test_a_known_key_passes_under_every_policy(tmp_path: Path) -> None:
    for policy in ("strict", "accept-new", "off"):
        assert _check(tmp_path, f"web01 ssh-ed25519 {KEY}\n", policy) == "known"


def test_unknown_keys_by_policy(tmp_path: Path) -> None:
    with pytest.raises(HostUnreachable, match="host key for web01:22 is not known") as caught:
        _check(tmp_path, "", "strict")
    assert fingerprint(KEY) in caught.value.message
    assert _check(tmp_path, "", "off") == "unchecked"
    assert not (tmp_path / "corral_known_hosts").exists()
    assert _check(tmp_path, "", "accept-new") == "added"
    assert (tmp_path / "corral_known_hosts").read_text() == f"web01 ssh-ed25519 {KEY}\n"
    assert (tmp_path / "corral_known_hosts").stat().st_mode & 0o777 == 0o600
    assert _check(tmp_path, "", "strict") == "known"  # corral's own file is read too


def test_a_key_of_another_type_is_unknown_not_changed(tmp_path: Path) -> None:
    with pytest.raises(HostUnreachable, match=r"keys of another type are known \(ssh-rsa\)"):
        _check(tmp_path, "web01 ssh-rsa AAAAB3Nza\n", "strict")


@pytest.mark.parametrize("policy", ["strict", "accept-new", "off"])
def test_changed_and_revoked_keys_are_refused_under_every_policy(
    tmp_path: Path, policy: str
) -> None:
    with pytest.raises(HostUnreachable, match="has CHANGED") as caught:
        _check(tmp_path, f"{_hashed('web01')} ssh-ed25519 {OTHER}\n", policy)
    assert f"ssh-keygen -R 'web01' -f {tmp_path / 'known_hosts'}" in (caught.value.hint or "")
    with pytest.raises(HostUnreachable, match="marked revoked"):
        _check(tmp_path, f"@revoked * ssh-ed25519 {KEY}\n", policy)


# -- registration and docs ---------------------------------------------------------------------


def _connection_types() -> dict[str, ConnectionType]:
    found: list[ConnectionType] = []
    ssh.corral_register_connections(register=found.append)
    simulated.corral_register_connections(register=found.append)
    return {t.name: t for t in found}


def _steps() -> list[StepType]:
    found: list[StepType] = []
    ssh.corral_register_steps(register=found.append)
    return found


def test_ssh_is_registered_with_documented_settings() -> None:
    types = _connection_types()
    assert "paramiko" in types["ssh"].aliases
    text = (DOCS / "connections.md").read_text()
    for name, connection_type in types.items():
        assert f"## {name}" in text
        for setting in connection_type.settings:
            assert f"`{setting.name}`" in text, f"{setting.name} is not in docs/connections.md"
            assert setting.description in text, f"{setting.name}'s description is stale"


@pytest.mark.parametrize("step", _steps(), ids=lambda s: s.name)
def test_step_docs_list_every_argument(step: StepType) -> None:
    Draft202012Validator.check_schema(step.schema)
    page = DOCS / "steps" / f"{step.name}.md"
    text = page.read_text()
    assert text.startswith(f"# {step.name} ")
    for heading in ("## Arguments", "## Returns", "## Check mode and diff", "## Examples"):
        assert heading in text
    for name, prop in step.schema["properties"].items():
        assert prop.get("description"), f"{step.name}.{name} has no description"
        assert f"| `{name}`" in text, f"{page.name} does not list {name}"
        assert prop["description"] in text, f"{page.name}: {name}'s description is stale"


def test_entry_points_name_the_new_modules() -> None:
    installed = {ep.value for ep in entry_points(group="corral")}
    for module in (ssh, ping, simulated):
        assert module.__name__ in installed


def test_invoke_is_imported_only_when_a_match_exec_line_runs(tmp_path: Path) -> None:
    # In a fresh interpreter: paramiko loads without invoke (70 ms saved before the first
    # host), and an ssh_config "Match exec" line still works, importing it then.
    config = tmp_path / "ssh_config"
    config.write_text('Match exec "test -n x"\n  User deploy\nHost *\n  Port 2222\n')
    code = (
        "import sys; from pathlib import Path\n"
        "from corral_plugins.ssh.ssh_config import SshConfigFiles, load_paramiko\n"
        "load_paramiko(); print('invoke' in sys.modules)\n"
        f"print(SshConfigFiles().lookup(Path({str(config)!r}), 'web'))\n"
        "print('invoke' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, options, after = out.stdout.splitlines()
    assert before == "False"
    assert options == "{'user': 'deploy', 'port': '2222', 'hostname': 'web'}"
    assert after == "True"

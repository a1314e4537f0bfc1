"""``ansible.cfg`` and ``ANSIBLE_*``: found, parsed and typed as Ansible does."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.ansible_cfg import ConfigError, find_config, load_settings

FULL = """\
# an ansible.cfg as real projects have them
[defaults]
inventory = inventory/hosts.ini, other.yml
forks = 20 ; inline comments start with a semicolon
remote_user = deploy
private_key_file = keys/id_deploy
timeout = 30
host_key_checking = False
roles_path = roles:~/shared/roles:/etc/ansible/roles
collections_path = collections
vault_password_file = .vault_pass
vault_identity_list = dev@dev.pw, prod@prompt
gathering = smart
stdout_callback = yaml
retry_files_enabled = False

[privilege_escalation]
become = True
become_method = sudo
become_user = app
become_ask_pass = no

[ssh_connection]
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
pipelining = True
control_path = %(directory)s/%%h-%%r
retries = 3
"""


def test_every_key_corral_reads_is_typed(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text(FULL)
    settings = load_settings({"HOME": str(tmp_path / "home")}, tmp_path)
    assert settings.path == tmp_path / "ansible.cfg"
    assert settings.inventory == (
        str(tmp_path / "inventory/hosts.ini"),
        str(tmp_path / "other.yml"),
    )
    assert settings.forks == 20
    assert settings.remote_user == "deploy"
    assert settings.private_key_file == tmp_path / "keys/id_deploy"
    assert settings.timeout == 30.0
    assert settings.host_key_checking is False
    assert settings.roles_path == (
        tmp_path / "roles",
        tmp_path / "home/shared/roles",  # ~ is the command's $HOME
        Path("/etc/ansible/roles"),
    )
    assert settings.collections_path == (tmp_path / "collections",)
    assert settings.vault_password_file == tmp_path / ".vault_pass"
    assert settings.vault_identity_list == ("dev@dev.pw", "prod@prompt")
    assert settings.gathering == "smart"
    assert (settings.become, settings.become_method, settings.become_user) == (True, "sudo", "app")
    assert settings.become_ask_pass is False
    assert settings.ssh_args == "-o ControlMaster=auto -o ControlPersist=60s"
    assert settings.ssh_retries == 3
    assert settings.ignored == (
        "defaults.stdout_callback",
        "defaults.retry_files_enabled",
        "ssh_connection.pipelining",
        "ssh_connection.control_path",
    )
    assert settings.sources["forks"] == f"{tmp_path / 'ansible.cfg'}:4"


def test_host_defaults_are_the_host_variables_the_settings_stand_for(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text(FULL)
    defaults = load_settings({}, tmp_path).host_defaults()
    assert defaults == {
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": str(tmp_path / "keys/id_deploy"),
        "corral_ssh_connect_timeout": 30.0,
        "ansible_host_key_checking": False,
        "ansible_become": True,
        "ansible_become_method": "sudo",
        "ansible_become_user": "app",
        "ansible_ssh_common_args": "-o ControlMaster=auto -o ControlPersist=60s",
        "corral_ssh_connect_retries": 3,
    }


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text(FULL)
    environ = {
        "ANSIBLE_FORKS": "7",
        "ANSIBLE_REMOTE_USER": "ops",
        "ANSIBLE_HOST_KEY_CHECKING": "yes",
        "ANSIBLE_PRIVATE_KEY_FILE": "k",
        "ANSIBLE_TIMEOUT": "5",
        "ANSIBLE_BECOME": "false",
        "ANSIBLE_BECOME_USER": "root",
        "ANSIBLE_INVENTORY": "a.ini,b.ini",
    }
    settings = load_settings(environ, tmp_path)
    assert settings.forks == 7
    assert settings.remote_user == "ops"
    assert settings.host_key_checking is True
    assert settings.private_key_file == tmp_path / "k"  # relative to the cwd
    assert settings.timeout == 5.0
    assert settings.become is False
    assert settings.become_user == "root"
    assert settings.inventory == (str(tmp_path / "a.ini"), str(tmp_path / "b.ini"))
    assert settings.sources["forks"] == "ANSIBLE_FORKS"


def test_the_first_file_found_wins(tmp_path: Path) -> None:
    home, project, elsewhere = tmp_path / "home", tmp_path / "project", tmp_path / "elsewhere"
    for directory in (home, project, elsewhere):
        directory.mkdir()
    (home / ".ansible.cfg").write_text("[defaults]\nforks = 1\n")
    environ = {"HOME": str(home)}
    assert find_config(environ, project) == home / ".ansible.cfg"
    (project / "ansible.cfg").write_text("[defaults]\nforks = 2\n")
    assert find_config(environ, project) == project / "ansible.cfg"
    (elsewhere / "ansible.cfg").write_text("[defaults]\nforks = 3\n")
    assert find_config({**environ, "ANSIBLE_CONFIG": str(elsewhere)}, project) == (
        elsewhere / "ansible.cfg"
    )
    given = {**environ, "ANSIBLE_CONFIG": str(elsewhere / "ansible.cfg")}
    assert load_settings(given, project).forks == 3


def test_a_world_writable_directory_s_ansible_cfg_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text("[defaults]\nforks = 2\n")
    tmp_path.chmod(0o777)
    try:
        # Anyone could have put it there (Ansible ignores it too, with a warning).
        assert find_config({}, tmp_path) != tmp_path / "ansible.cfg"
    finally:
        tmp_path.chmod(0o755)


def test_no_file_and_no_variables_say_nothing(tmp_path: Path) -> None:
    settings = load_settings({"HOME": str(tmp_path)}, tmp_path)
    if settings.path is None:  # a machine-wide /etc/ansible/ansible.cfg would be read
        assert settings.host_defaults() == {}
        assert settings.forks is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("forks = 5\n", "ansible.cfg:1: ansible.cfg is not valid INI: a key before the first"),
        ("[defaults]\nforks = many\n", "ansible.cfg:2: forks: must be a whole number, not 'many'"),
        (
            "[defaults]\n\n# comment\nhost_key_checking = maybe\n",
            "ansible.cfg:4: host_key_checking: must be true or false",
        ),
        ("[defaults]\ngathering = lazy\n", "ansible.cfg:2: gathering: must be one of implicit"),
        ("[defaults]\nforks = 1\nforks = 2\n", "ansible.cfg:3: ansible.cfg is not valid INI"),
    ],
)
def test_an_invalid_file_names_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "ansible.cfg").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings({}, tmp_path)
    assert caught.value.exit_code == 4
    assert str(caught.value).startswith(str(tmp_path / expected)), str(caught.value)
    assert caught.value.hint


def test_an_invalid_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ANSIBLE_FORKS: must be a whole number"):
        load_settings({"ANSIBLE_FORKS": "lots", "HOME": str(tmp_path)}, tmp_path)

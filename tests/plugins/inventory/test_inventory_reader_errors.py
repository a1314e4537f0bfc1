"""Bad inventories: one line naming file:line, exit code 4, never a traceback."""

from __future__ import annotations

import re
import sys

import pytest

from corral.testing import CorralProject

SCRIPT = f"#!{sys.executable}\n"

# (name, files, error line after "error: <project>/", exit code)
CASES = [
    (
        "section-with-space",
        {"bad.ini": "[web servers]\nw1\n"},
        r"bad\.ini:1: invalid section header '\[web servers\]'",
    ),
    (
        "unknown-section-type",
        {"bad.ini": "[web]\nw1\n[web:hosts2]\n"},
        r"bad\.ini:3: section \[web:hosts2\] has unknown type 'hosts2'",
    ),
    (
        "vars-of-undeclared-group",
        {"bad.ini": "[web]\nw1\n[db:vars]\nx=1\n"},
        r"bad\.ini:3: section \[db:vars\] is for group 'db', which is never declared",
    ),
    (
        "undeclared-child",
        {"bad.ini": "[prod:children]\nweb\nnope\n[web]\nw1\n"},
        r"bad\.ini:3: section \[prod:children\] names group 'nope', which is never declared",
    ),
    (
        "host-var-without-value",
        {"bad.ini": "[web]\nw1 ansible_user\n"},
        r"bad\.ini:2: expected key=value after the host name, got 'ansible_user'",
    ),
    (
        "unclosed-quote",
        {"bad.ini": "[web]\nw1 motd='hello\n"},
        r"bad\.ini:2: cannot split host line .*No closing quotation",
    ),
    ("host-ending-in-colon", {"bad.ini": "web1:\n"}, r"bad\.ini:1: host 'web1:' ends in ':'"),
    (
        "yaml-syntax",
        {"bad.yml": "all:\n  hosts:\n    web1: {a: 1\n"},
        r"bad\.yml:4:1: invalid YAML: .*",
    ),
    (
        "yaml-hosts-as-list",
        {"bad.yml": "web:\n  hosts:\n    - web1\n    - web2\n"},
        r"bad\.yml:3:5: 'hosts' of group 'web' must be a mapping, not a list",
    ),
    (
        "yaml-host-vars-not-mapping",
        {"bad.yml": "web:\n  hosts:\n    web1: [1, 2]\n"},
        r"bad\.yml:3:11: the variables of host 'web1' must be a mapping, not a list",
    ),
    (
        "yaml-not-a-mapping",
        {"bad.yml": "- web1\n- web2\n"},
        r"bad\.yml:1:1: a YAML inventory maps group names to groups; this file holds a list",
    ),
    (
        "yaml-plugin-config",
        {"aws.yml": "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n"},
        r"aws\.yml:1:1: this is an Ansible inventory plugin configuration",
    ),
    (
        "range-reversed",
        {"bad.ini": "[web]\nweb[10:01]\n"},
        r"bad\.ini:2: bad host range in 'web\[10:01\]': .* begin is greater than end",
    ),
    (
        "range-mixed",
        {"bad.ini": "[web]\nweb[a:3]\n"},
        r"bad\.ini:2: bad host range in 'web\[a:3\]': .* must be numeric \(01:50\) or alphabetic",
    ),
    (
        "range-padding",
        {"bad.yml": "web:\n  hosts:\n    web[01:100]:\n"},
        r"bad\.yml:3:5: bad host range in 'web\[01:100\]': .*equal length",
    ),
    (
        "range-zero-step",
        {"bad.ini": "web[1:9:0]\n"},
        r"bad\.ini:1: bad host range in 'web\[1:9:0\]': .*positive integer step",
    ),
    (
        "group-own-descendant",
        {"bad.ini": "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n"},
        r"bad\.ini:6: group 'a' would become its own descendant \(a -> b -> c -> a\)",
    ),
    (
        "group-own-child",
        {"bad.yml": "a:\n  children:\n    a:\n"},
        r"bad\.yml:3:5: group 'a' cannot be a child of itself",
    ),
    (
        "bad-group-priority",
        {"bad.ini": "[web]\nw1\n[web:vars]\nansible_group_priority=high\n"},
        r"bad\.ini:4: ansible_group_priority must be an integer, not 'high'",
    ),
    (
        "binary-file",
        {"blob.dat": "\x00\x01\x02\x03"},
        r"blob\.dat:1: binary file \(it contains NUL bytes\)",
    ),
    (
        "group-vars-not-a-mapping",
        {"hosts.ini": "[web]\nw1\n", "group_vars/web.yml": "- a\n"},
        r"group_vars/web\.yml:1: a variables file must hold a mapping, not a list",
    ),
    (
        "group-vars-bad-yaml",
        {"hosts.ini": "[web]\nw1\n", "group_vars/all.yml": "a: [1\n"},
        r"group_vars/all\.yml:2:1: invalid YAML: .*",
    ),
    (
        "vault-value",
        {"bad.yml": "all:\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1\n"},
        r"bad\.yml:3:9: this value is not a valid vault: bad vault header '\$ANSIBLE_VAULT;1\.1'",
    ),
    (
        "script-exits-non-zero",
        {"inv.py": SCRIPT + "import sys\nsys.exit('no credentials')\n"},
        r"inv\.py: the inventory script exited with code 1 on --list",
    ),
    (
        "script-prints-non-json",
        {"inv.py": SCRIPT + "print('hosts: a, b')\n"},
        r"inv\.py: the inventory script's --list output is not JSON \(.* at line 1, column 1\)",
    ),
    (
        "script-prints-a-list",
        {"inv.py": SCRIPT + "print('[1, 2]')\n"},
        r"inv\.py: --list printed a JSON array, not an object",
    ),
    (
        "script-bad-hostvars",
        {"inv.py": SCRIPT + 'print(\'{"web": ["w1"], "_meta": []}\')\n'},
        r"inv\.py: '_meta\.hostvars' must be an object of host names",
    ),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_inventory_is_one_line_with_location(
    corral_project: CorralProject, files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        path = corral_project.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        if name.endswith(".py"):
            path.chmod(0o755)
    source = next(iter(files))
    result = corral_project.run("inventory", "-i", source, "--list")
    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert re.match(f"error: {re.escape(str(corral_project.path))}/{expected}", lines[0]), lines
    assert len(lines) <= 2
    assert all(line.startswith(("error: ", "hint: ")) for line in lines)
    assert "Traceback" not in result.output


def test_script_that_hangs_is_stopped_by_the_timeout(corral_project: CorralProject) -> None:
    script = corral_project.write("slow.py", SCRIPT + "import time\ntime.sleep(60)\n")
    script.chmod(0o755)
    result = corral_project.run(
        "inventory", "-i", "slow.py", "--list", env={"CORRAL_INVENTORY_TIMEOUT": "0.5"}
    )
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        f"error: {script}: the inventory script did not finish --list within 0.5 s",
        "hint: raise CORRAL_INVENTORY_TIMEOUT (seconds) if the script is just slow",
    ]


def test_script_error_hint_shows_what_it_said(corral_project: CorralProject) -> None:
    script = corral_project.write(
        "inv.py", SCRIPT + "import sys\nprint('token expired', file=sys.stderr)\nsys.exit(3)\n"
    )
    script.chmod(0o755)
    result = corral_project.run("inventory", "-i", "inv.py", "--list")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-1] == "hint: it said: token expired"


def test_missing_source_is_an_error(corral_project: CorralProject) -> None:
    result = corral_project.run("inventory", "-i", "nowhere.ini", "--list")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == "error: inventory source 'nowhere.ini' not found"


def test_unknown_group_in_limit_is_a_warning_and_an_empty_match(
    corral_project: CorralProject,
) -> None:
    corral_project.write("hosts.ini", "[web]\nw1\n")
    result = corral_project.run("inventory", "-i", "hosts.ini", "--list", "--limit", "nosuch")
    assert result.exit_code == 0
    assert result.stderr == "warning: could not match supplied host pattern, ignoring: nosuch\n"
    assert '"hostvars": {}' in result.stdout


def test_a_bad_file_in_an_inventory_directory_names_that_file(
    corral_project: CorralProject,
) -> None:
    corral_project.write("inventory/10-ok.ini", "[web]\nw1\n")
    corral_project.write("inventory/20-bad.yml", "web:\n  hosts: [w2]\n")
    result = corral_project.run("inventory", "--list")
    assert result.exit_code == 4
    bad = corral_project.path / "inventory" / "20-bad.yml"
    assert result.stderr.startswith(f"error: {bad}:2:10: 'hosts' of group 'web' must be")

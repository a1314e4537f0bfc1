"""``corral new project DIR``: a project that passes ``corral check`` and runs as generated.

The files are written for ansible-playbook as much as for corral: ``ansible.cfg``
points at the inventory and the roles, the inventory is YAML with ``group_vars/``
beside it, and ``site.yml`` uses a role. The only corral keyword is the play's
``params:`` (typed, checked before any host is touched).
"""

from __future__ import annotations

from pathlib import Path

import click

ANSIBLE_CFG = """\
# Read by corral and by ansible-playbook alike; relative paths are relative to this file.
# corral's docs/ansible-cfg.md lists the keys corral uses.
[defaults]
inventory = hosts.yml
roles_path = roles
forks = 20
timeout = 30
# Plays gather facts only when they say gather_facts: true.
gathering = explicit
host_key_checking = True

[privilege_escalation]
become = False
become_method = sudo
"""

HOSTS = """\
# The inventory (ansible.cfg names it). localhost uses the local connection, so
# site.yml runs as generated; add servers to the groups, for example:
#   app:
#     hosts:
#       app1.example.com: {{ansible_host: 192.0.2.10, ansible_user: deploy}}
all:
  hosts:
    localhost:
      ansible_connection: local
  children:
    app:
      hosts:
        localhost:
"""

GROUP_VARS_ALL = """\
# Variables of every host; a group's file (group_vars/app.yml) overrides them.
project_name: {name}
"""

GROUP_VARS_APP = """\
# Variables of the hosts of group app. The state directory is inside the project
# so that a run as generated writes nothing elsewhere (.gitignore ignores it).
app_dir: "{{{{ playbook_dir }}}}/.state/{{{{ inventory_hostname }}}}"
"""

SITE = """\
# Sets up the hosts of group app with the app role: a directory and greeting files.
#
#   corral run site.yml
#   corral run site.yml -p greeting=hi -p copies=3
#   corral run site.yml --check --diff        # what would change, touching nothing
#   corral run --help-params site.yml
- name: Set up the app hosts
  hosts: app
  params:
    greeting:
      type: string
      default: hello
      minLength: 1
      description: the first words of each greeting file
    copies:
      type: integer
      default: 1
      minimum: 1
      maximum: 10
      description: how many numbered greeting files to write
  roles:
    - app
"""

ROLE_TASKS = """\
- name: Make the app directory
  file:
    path: "{{ app_dir }}"
    state: directory
    mode: "0755"

- name: Write the greeting files
  template:
    src: greeting.txt.j2
    dest: "{{ app_dir }}/greeting-{{ item }}.txt"
    mode: "0644"
  loop: "{{ range(1, copies + 1) | list }}"
  notify: Report the new greetings
"""

ROLE_HANDLERS = """\
- name: Report the new greetings
  debug:
    msg: "{{ app_dir }} has {{ copies }} greeting file(s)"
"""

ROLE_DEFAULTS = """\
# The role's defaults: the lowest precedence, overridden by group_vars and -e.
app_owner: "{{ project_name }}"
"""

ROLE_TEMPLATE = "{{ greeting }} from {{ inventory_hostname }}, managed by {{ app_owner }}\n"

CHECK_SH = """\
#!/bin/sh
# Checks every playbook of the project with `corral check`: syntax, step arguments,
# undefined variables and params; no host is touched. A playbook with required
# params takes them from ci/params/NAME.yml when that file exists.
set -u
cd "$(dirname "$0")/.."
status=0
for playbook in *.yml; do
  case "$playbook" in hosts.yml | policy.yml) continue ;; esac
  params="ci/params/${playbook%.yml}.yml"
  if [ -f "$params" ]; then
    corral check "$playbook" -p "@$params" || status=1
  else
    corral check "$playbook" || status=1
  fi
done
exit "$status"
"""

WORKFLOW = """\
# Runs ci/check.sh on every push and pull request.
name: check
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install corral
      - run: ci/check.sh
"""

GITIGNORE = """\
# What runs leave behind in the project
.state/
*.retry
# Python tooling
.venv/
__pycache__/
"""

README = """\
# {name}

An automation project for corral (and ansible-playbook).

| path | what it is |
| --- | --- |
| `ansible.cfg` | settings: the inventory, the roles path, forks, privilege escalation |
| `hosts.yml` | the inventory: `localhost` (local connection) in the example group `app` |
| `group_vars/` | variables of every host (`all.yml`) and of group `app` (`app.yml`) |
| `site.yml` | the playbook: typed params `greeting` and `copies`, the `app` role |
| `roles/app/` | the role: tasks, a handler, defaults, a template |
| `ci/check.sh` | `corral check` on every playbook; `.github/workflows/check.yml` runs it |

## Run it

```bash
corral check site.yml                  # validate, touching no host
corral run site.yml -p greeting=hi     # writes .state/localhost/greeting-1.txt
corral run site.yml --check --diff     # what a run would change
corral run --help-params site.yml      # the params, their types and defaults
```

## Grow it

```bash
corral new playbook deploy --from rolling-upgrade   # a library playbook (--list shows them)
corral new role web --path roles
```

Add servers to `hosts.yml` (with `ansible_host` and `ansible_user`); their group's
variables go in `group_vars/GROUP.yml`. A playbook with required params takes the
values `ci/check.sh` checks it with from `ci/params/PLAYBOOK.yml`.
"""


def project_files(name: str) -> dict[str, str]:
    """The project's files, relative path -> text."""
    return {
        "ansible.cfg": ANSIBLE_CFG,
        "hosts.yml": HOSTS.format(),
        "group_vars/all.yml": GROUP_VARS_ALL.format(name=name),
        "group_vars/app.yml": GROUP_VARS_APP.format(),
        "site.yml": SITE,
        "roles/app/tasks/main.yml": ROLE_TASKS,
        "roles/app/handlers/main.yml": ROLE_HANDLERS,
        "roles/app/defaults/main.yml": ROLE_DEFAULTS,
        "roles/app/templates/greeting.txt.j2": ROLE_TEMPLATE,
        "ci/check.sh": CHECK_SH,
        ".github/workflows/check.yml": WORKFLOW,
        ".gitignore": GITIGNORE,
        "README.md": README.format(name=name),
    }


@click.command("project")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Add the missing files to a non-empty DIR.")
def new_project_command(directory: Path, force: bool) -> int:
    """Create a project in DIR: ansible.cfg, inventory, group_vars, a playbook, a role, CI.

    DIR must be new or empty; --force adds the missing files to a non-empty DIR
    and keeps every file that is there.
    """
    from corral.commands.scaffold import report, write_tree
    from corral.errors import UsageError

    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file, not a directory", hint="give a directory path")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UsageError(
            f"{directory} is not empty; not writing into it",
            hint="give a new or empty directory, or --force to add only the missing files",
        )
    name = directory.resolve().name or "project"
    kept = write_tree(directory, project_files(name), force=True)
    report("project", name, directory, kept)
    return 0

"""``corral new plugin NAME``: a pip-installable step plugin that passes its own tests.

The package follows ``examples/corral-hello-plugin`` (docs/plugins.md): a module
with a ``@hookimpl``, the ``corral`` entry point in pyproject.toml, and tests on
the ``corral_project`` fixture that corral ships for plugin authors.
"""

from __future__ import annotations

from pathlib import Path

import click

from corral.commands.scaffold import path_option

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.1.0"
description = "A corral plugin: the {ident}.greet step type."
requires-python = ">=3.11"
dependencies = ["corral"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This table is what makes corral find the plugin: the group is "corral",
# the name is the plugin's name, the value is the module with the hooks.
[project.entry-points.corral]
{ident} = "{module}"

[tool.hatch.build.targets.wheel]
packages = ["{module}"]
"""

MODULE = '''\
"""The {ident} corral plugin: the ``{ident}.greet`` step type.

A plugin is an ordinary module: plain functions plus a ``@hookimpl`` that
registers them. Nothing here imports pluggy or subclasses anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl

# The arguments, as JSON Schema: corral checks them before any host is touched
# (`corral check` exits 4 on a wrong type), and `corral plugins` documents them.
GREET_SCHEMA = {{
    "type": "object",
    "additionalProperties": False,
    "properties": {{
        "name": {{"type": "string", "description": "who to greet", "default": "world"}},
        "times": {{
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
            "description": "how many times to say it",
            "default": 1,
        }},
        "shout": {{"type": "boolean", "description": "greet in capitals", "default": False}},
    }},
}}


def greet(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Greet someone; the greeting lands in ``msg`` and in ``greeting``."""
    once = f"Hello, {{args.get('name', 'world')}}, from {{ctx.host}}!"
    text = " ".join([once] * args.get("times", 1))
    if args.get("shout"):
        text = text.upper()
    return StepResult(msg=text, data={{"greeting": text}})


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    register(
        StepType(
            name="{ident}.greet",
            run=greet,
            schema=GREET_SCHEMA,
            free_form="name",
            check_mode=True,
            description="Say hello.",
        )
    )
'''

TESTS = '''\
"""The plugin's own tests, using the fixtures corral ships for plugin authors."""

import json

# ARGS is replaced by each test's step arguments.
PLAY = """\\
- hosts: localhost
  gather_facts: false
  tasks:
    - {ident}.greet: ARGS
      register: said
    - debug: {{msg: "{{{{ said.greeting }}}}"}}
"""


def test_corral_lists_the_plugin(corral_project):
    result = corral_project.run("plugins", "--json")
    assert result.exit_code == 0, result.output
    mine = [p for p in json.loads(result.stdout) if p["name"] == "{ident}"]
    assert mine, result.stdout
    assert mine[0]["distribution"] == "{dist}"
    assert mine[0]["steps"] == ["{ident}.greet"]


def test_the_step_greets_in_a_playbook(corral_project):
    corral_project.write("inventory.ini", "localhost ansible_connection=local\\n")
    corral_project.write("site.yml", PLAY.replace("ARGS", "{{name: ops, times: 2, shout: true}}"))
    result = corral_project.run("run", "site.yml", "-i", "inventory.ini")
    assert result.exit_code == 0, result.output
    assert "HELLO, OPS, FROM LOCALHOST! HELLO, OPS, FROM LOCALHOST!" in result.stdout


def test_wrong_arguments_are_refused_before_the_run(corral_project):
    corral_project.write("inventory.ini", "localhost ansible_connection=local\\n")
    corral_project.write("bad.yml", PLAY.replace("ARGS", "{{times: 0}}"))
    result = corral_project.run("check", "bad.yml", "-i", "inventory.ini")
    assert result.exit_code == 4
    assert "argument 'times' of step '{ident}.greet': 0 is less than the minimum of 1" in (
        result.stderr
    )
'''

README = """\
# {dist}

A corral plugin with one step type, `{ident}.greet`, registered through the `corral`
entry-point group (see `pyproject.toml`). Made by `corral new plugin {ident}`.

```bash
pip install .            # or: pip install -e . while you work on it
corral plugins           # lists "{ident}" with its step "{ident}.greet"
pytest tests             # the tests use corral's own pytest fixtures (corral_project)
```

```yaml
- hosts: localhost
  tasks:
    - {ident}.greet: {{name: ops, times: 2, shout: true}}
```

Arguments (checked by `corral check` before any host is touched):

| argument | type | default | what it does |
| --- | --- | --- | --- |
| `name` | string | `world` | who to greet |
| `times` | integer, 1 to 10 | `1` | how many times to say it |
| `shout` | boolean | `false` | greet in capitals |
"""

GITIGNORE = "build/\ndist/\n*.egg-info/\n__pycache__/\n.venv/\n"


def plugin_files(ident: str) -> dict[str, str]:
    """The plugin package's files for plugin ``ident``, relative path -> text."""
    names = {
        "ident": ident,
        "module": f"corral_{ident}",
        "dist": f"corral-{ident.replace('_', '-')}-plugin",
    }
    return {
        "pyproject.toml": PYPROJECT.format(**names),
        f"{names['module']}/__init__.py": MODULE.format(**names),
        f"tests/test_{ident}.py": TESTS.format(**names),
        "README.md": README.format(**names),
        ".gitignore": GITIGNORE,
    }


@click.command("plugin")
@click.argument("name")
@path_option("The directory to create the package directory in.")
def new_plugin_command(name: str, init_path: Path) -> int:
    """Create plugin NAME: a package corral-NAME-plugin with step NAME.greet, tests, README.

    ``pip install`` the directory and ``corral plugins`` lists it; its tests pass as
    generated. An existing directory is never written into.
    """
    from corral.commands.scaffold import check_name, report, write_tree
    from corral.errors import UsageError

    check_name("plugin", name)
    ident = name.replace("-", "_")
    target = init_path / f"corral-{ident.replace('_', '-')}-plugin"
    if target.exists():
        raise UsageError(
            f"{target} already exists; not writing into it",
            hint="choose another name, or --path for another directory",
        )
    write_tree(target, plugin_files(ident))
    report("plugin", ident, target, [])
    return 0

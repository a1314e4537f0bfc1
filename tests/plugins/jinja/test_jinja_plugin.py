"""The built-in ``jinja`` plugin: registered like a third party's, listed by ``corral plugins``."""

from __future__ import annotations

import json

from corral_plugins.jinja.filters import FILTERS
from corral_plugins.jinja.lookups import LOOKUPS
from corral_plugins.jinja.loop_lookups import LOOP_LOOKUPS
from corral_plugins.jinja.tests import TESTS

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ 'jinja2 built-in' | upper }}"
    - debug:
        msg: "{{ {'a': 1} | to_json }}"
"""


def test_corral_plugins_json_lists_the_jinja_plugins_functions(corral_project):
    result = corral_project.run("plugins", "--json")
    assert result.exit_code == 0, result.output
    (jinja,) = [r for r in json.loads(result.stdout) if r["name"] == "jinja"]
    assert (jinja["builtin"], jinja["module"]) == (True, "corral_plugins.jinja")
    assert jinja["hooks"] == ["corral_register_filters"]
    assert jinja["filters"] == sorted(FILTERS)
    assert jinja["tests"] == sorted(TESTS)
    assert jinja["lookups"] == sorted({**LOOKUPS, **LOOP_LOOKUPS})
    assert {"to_json", "combine", "quote"} <= set(jinja["filters"])
    assert {"env", "file", "template"} <= set(jinja["lookups"])


def test_corral_plugins_table_shows_the_counts(corral_project):
    result = corral_project.run("plugins")
    assert result.exit_code == 0, result.output
    result.fnmatch_lines(
        [
            # the first names (ansible.netcommon.ipaddr...) wrap to the next line
            f"*jinja*corral (built-in)*filters ({len(FILTERS)}):*",
            f"*tests ({len(TESTS)}): abs, all,*",
            f"*lookups ({len(LOOKUPS) + len(LOOP_LOOKUPS)}): cartesian, dict,*",
        ]
    )


def test_without_the_plugin_templates_have_only_jinja2s_own_filters(corral_project):
    corral_project.write("site.yml", PLAYBOOK)
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    ran = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert ran.exit_code == 0, ran.output
    result = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", env={"CORRAL_DISABLE_PLUGINS": "jinja"}
    )
    assert result.exit_code != 0
    assert "unknown filter 'to_json'" in result.output
    listed = corral_project.run("plugins", "--json", env={"CORRAL_DISABLE_PLUGINS": "jinja"})
    assert "jinja" not in {r["name"] for r in json.loads(listed.stdout)}

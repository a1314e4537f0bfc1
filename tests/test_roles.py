"""Ansible roles end to end: real role trees in a temp project, run through ``corral``."""

from __future__ import annotations

import pytest

HOSTS = """
all:
  hosts:
    h1: {ansible_connection: local, level: inventory}
"""


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run(project, playbook: str, *args: str, env=None):
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args, env=env)
    return result, result.json_lines()


def messages(events):
    return [
        e["result"]["msg"]
        for e in events
        if e["event"] in ("task_result", "item_result")
        and e["action"] == "debug"
        and "msg" in e["result"]
        and "results" not in e["result"]
    ]


def role(project, name: str, **files: str) -> None:
    """Write role ``name`` under roles/: ``tasks=`` is tasks/main.yml, ``tasks__x=`` tasks/x.yml."""
    for key, text in files.items():
        subdir, _, stem = key.partition("__")
        project.write(f"roles/{name}/{subdir}/{stem or 'main'}.yml", text)


def say(text: str) -> str:
    return f'- debug: {{msg: "{text}"}}\n'


def test_sections_run_in_ansible_order_with_role_handlers(project):
    role(
        project,
        "web",
        tasks="""
        - debug: {msg: "web task"}
          changed_when: true
          notify: restart web
        """,
        handlers="- name: restart web\n  debug: {msg: web handler}\n",
    )
    result, events = run(
        project,
        """
        - hosts: all
          pre_tasks:
            - debug: {msg: pre}
              changed_when: true
              notify: play handler
          roles: [web]
          tasks:
            - debug: {msg: task}
          post_tasks:
            - debug: {msg: post}
          handlers:
            - name: play handler
              debug: {msg: "play handler"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["pre", "play handler", "web task", "task", "web handler", "post"]
    handlers = [e["task"] for e in events if e["event"] == "task_result" and e["handler"]]
    assert handlers == ["play handler", "web : restart web"]  # as Ansible names them


def test_variable_precedence_of_defaults_vars_and_params(project):
    role(
        project,
        "app",
        defaults="level: default\nonly_default: d\nfrom_vars: default\n",
        vars="from_vars: role vars\n",
        tasks=say("{{ level }} {{ only_default }} {{ from_vars }} {{ p }}"),
    )
    result, events = run(
        project,
        """
        - hosts: all
          vars: {from_vars: play}
          pre_tasks:
            - set_fact: {p: from set_fact}
          roles:
            - app
            - {role: app, p: param}
          tasks:
            - debug: {msg: "{{ only_default }} {{ from_vars }}"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == [
        "inventory d role vars from set_fact",
        "inventory d role vars param",
        "d role vars",  # the play's tasks see the roles' defaults and vars
    ]
    result, events = run(project, (project.path / "site.yml").read_text(), "-e", "p=extra")
    assert messages(events)[1] == "inventory d role vars extra"


def test_dependencies_run_once_unless_allowed_or_given_other_params(project):
    role(project, "base", tasks=say("base {{ flavour | default('plain') }}"))
    role(project, "twice", tasks=say("twice"), meta="allow_duplicates: true\n")
    role(project, "a", meta="dependencies: [base, twice]\n", tasks=say("a"))
    role(project, "b", meta="dependencies: [base, twice, {role: base, flavour: x}]\n")
    result, events = run(project, "- hosts: all\n  roles: [a, b, a]\n")
    assert result.exit_code == 0, result.output
    # The second 'a' is skipped, but its dependency that allows duplicates runs again.
    assert messages(events) == ["base plain", "twice", "a", "twice", "base x", "twice"]


def test_a_missing_role_names_the_place_the_paths_and_a_close_name(project):
    role(project, "webserver", tasks=say("hi"))
    project.write("site.yml", "- hosts: all\n  roles:\n    - websrever\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "site.yml:3:7: role 'websrever' not found (searched roles" in result.stderr
    assert "did you mean 'webserver'?" in result.stderr
    assert "Traceback" not in result.output


def test_a_dependency_cycle_is_refused(project):
    role(project, "a", meta="dependencies: [b]\n")
    role(project, "b", meta="dependencies: [{role: a}]\n")
    project.write("site.yml", "- hosts: all\n  roles: [a]\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "role dependency cycle: a -> b -> a" in result.stderr
    assert "roles/b/meta/main.yml:1:" in result.stderr


def test_roles_path_galaxy_roles_and_collections(project, tmp_path):
    shared = tmp_path / "shared-roles"
    (shared / "acme.tools" / "tasks").mkdir(parents=True)
    (shared / "acme.tools" / "tasks" / "main.yml").write_text(say("galaxy role"))
    coll = tmp_path / "colls" / "ansible_collections" / "acme" / "infra" / "roles" / "db"
    (coll / "tasks").mkdir(parents=True)
    (coll / "tasks" / "main.yml").write_text(say("collection role {{ role_name }}"))
    project.write("collections/ansible_collections/my/local/roles/r/tasks/main.yml", say("local"))
    env = {"ANSIBLE_ROLES_PATH": str(shared), "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "colls")}
    playbook = "- hosts: all\n  roles: [acme.tools, acme.infra.db, my.local.r]\n"
    result, events = run(project, playbook, env=env)
    assert result.exit_code == 0, result.output
    assert messages(events) == ["galaxy role", "collection role db", "local"]


def test_roles_path_of_ansible_cfg_is_used_when_the_environment_has_none(project, tmp_path):
    shared = tmp_path / "configured"
    (shared / "cfg" / "tasks").mkdir(parents=True)
    (shared / "cfg" / "tasks" / "main.yml").write_text(say("from the setting"))
    project.write("ansible.cfg", f"[defaults]\nroles_path = {shared}\n")
    result, events = run(project, "- hosts: all\n  roles: [cfg]\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["from the setting"]


def test_collections_path_of_ansible_cfg_finds_collection_roles(project, tmp_path):
    coll = tmp_path / "colls" / "ansible_collections" / "acme" / "infra" / "roles" / "db"
    (coll / "tasks").mkdir(parents=True)
    (coll / "tasks" / "main.yml").write_text(say("configured collection {{ role_name }}"))
    project.write("ansible.cfg", f"[defaults]\ncollections_path = {tmp_path / 'colls'}\n")
    result, events = run(project, "- hosts: all\n  roles: [acme.infra.db]\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["configured collection db"]
    project.write("ansible.cfg", "[defaults]\n")
    assert run(project, "- hosts: all\n  roles: [acme.infra.db]\n")[0].exit_code == 4


def test_import_role_with_tasks_vars_defaults_and_handlers_from(project):
    role(
        project,
        "multi",
        tasks__setup="""
        - debug: {msg: "{{ colour }} {{ size }}"}
          changed_when: true
          notify: other handler
        """,
        vars__blue="colour: blue\n",
        defaults__big="size: big\n",
        handlers__other="- name: other handler\n  debug: {msg: other handler}\n",
    )
    result, events = run(
        project,
        """
        - hosts: all
          tasks:
            - import_role:
                name: multi
                tasks_from: setup
                vars_from: blue
                defaults_from: big
                handlers_from: other
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["blue big", "other handler"]


def test_include_role_loops_renders_its_name_and_applies_keywords(project):
    role(project, "one", tasks=say("one {{ item }}"), defaults="pub: published\n")
    role(project, "two", tasks=say("two {{ role_name }}"))
    result, events = run(
        project,
        """
        - hosts: all
          vars: {which: two, which_file: main}
          tasks:
            - include_role: {name: one}
              loop: [a, b]
            - include_role: {name: "{{ which }}"}
            - include_role: {name: one, tasks_from: "{{ which_file }}"}
              vars: {item: from tasks_from}
            - include_role:
                name: one
                public: true
                apply: {tags: [applied]}
              vars: {item: c}
              tags: [applied]
            - debug: {msg: "{{ pub }}"}
            - include_role: {name: two}
              when: false
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == [
        "one a",
        "one b",
        "two two",
        "one from tasks_from",
        "one c",
        "published",
    ]
    result, events = run(project, (project.path / "site.yml").read_text(), "--tags", "applied")
    assert messages(events) == ["one c"]


def test_template_and_copy_look_in_the_role_first(project, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    project.write("roles/t/templates/conf.j2", "role template {{ role_name }}\n")
    project.write("roles/t/files/data.txt", "role file\n")
    project.write("templates/conf.j2", "playbook template\n")
    project.write("templates/only_here.j2", "playbook only\n")
    role(
        project,
        "t",
        tasks=f"""
        - template: {{src: conf.j2, dest: {out}/conf}}
        - copy: {{src: data.txt, dest: {out}/data}}
        - template: {{src: only_here.j2, dest: {out}/only}}
        """,
    )
    result, _ = run(project, "- hosts: all\n  roles: [t]\n")
    assert result.exit_code == 0, result.output
    assert (out / "conf").read_text() == "role template t\n"
    assert (out / "data").read_text() == "role file\n"
    assert (out / "only").read_text() == "playbook only\n"


def test_magic_variables_of_roles(project):
    role(project, "inner", tasks=say("{{ role_name }} {{ ansible_parent_role_names }}"))
    role(
        project,
        "outer",
        meta="dependencies: [dep]\n",
        tasks="""
        - debug:
            msg: "{{ role_path | basename }} {{ role_names }} {{ ansible_role_names | sort }}"
        - import_role: {name: inner}
        """,
    )
    role(project, "dep", tasks="[]\n")
    result, events = run(project, "- hosts: all\n  roles: [outer]\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == [
        "outer ['outer', 'inner'] ['dep', 'inner', 'outer']",
        "inner ['outer']",
    ]


def test_vars_main_may_be_a_directory_of_files(project):
    project.write("roles/d/vars/main/10-a.yml", "x: a\ny: a\n")
    project.write("roles/d/vars/main/20-b.yml", "y: b\n")
    role(project, "d", tasks=say("{{ x }}{{ y }}"))
    result, events = run(project, "- hosts: all\n  roles: [d]\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["ab"]


def test_check_reports_problems_in_role_files_with_their_location(project):
    role(project, "bad", tasks='- debug: {msg: ok}\n- debug: {msg: "{{ nowhere }}"}\n')
    project.write("site.yml", "- hosts: all\n  roles: [bad]\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "roles/bad/tasks/main.yml:2:3: undefined variable 'nowhere'" in result.stderr
    role(project, "bad", tasks="- shel: echo hi\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "roles/bad/tasks/main.yml:1:3: unknown step type 'shel'" in result.stderr
    role(project, "bad", tasks=say("{{ d }}"), defaults="d: 1\n")
    assert project.run("check", "site.yml", "-i", "hosts.yml").exit_code == 0


def test_handlers_may_import_or_include_task_files(project):
    project.write("h_static.yml", say("static one").replace("- debug", "- name: one\n  debug"))
    project.write("h_dynamic.yml", say("dynamic a") + say("dynamic b"))
    result, events = run(
        project,
        """
        - hosts: all
          tasks:
            - debug: {msg: go}
              changed_when: true
              notify: [one, run dynamic]
          handlers:
            - import_tasks: h_static.yml
            - name: run dynamic
              include_tasks: h_dynamic.yml
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["go", "static one", "dynamic a", "dynamic b"]


def test_include_vars_from_a_role_and_under_a_name(project):
    project.write("roles/v/vars/extra.yml", "colour: red\n")
    role(
        project,
        "v",
        tasks="""
        - include_vars: extra.yml
        - include_vars: {file: extra.yml, name: nested}
        - debug: {msg: "{{ colour }} {{ nested.colour }}"}
        """,
    )
    result, events = run(project, "- hosts: all\n  roles: [v]\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["red red"]


def test_new_role_scaffolds_and_never_overwrites(project):
    result = project.run("new", "role", "web", "--path", "roles")
    assert result.exit_code == 0, result.output
    for name in ("tasks", "handlers", "defaults", "vars", "meta"):
        assert (project.path / "roles" / "web" / name / "main.yml").is_file()
    assert (project.path / "roles/web/templates").is_dir()
    assert (project.path / "roles/web/files").is_dir()
    assert (project.path / "roles/web/README.md").is_file()
    project.write("site.yml", "- hosts: all\n  roles: [web]\n")
    assert project.run("run", "site.yml", "-i", "hosts.yml").exit_code == 0
    again = project.run("new", "role", "web", "--path", "roles")
    assert again.exit_code == 5
    assert "already exists" in again.stderr


def test_check_reports_undefined_names_in_a_role_template(project):
    project.write("roles/t/templates/app.conf.j2", "port={{ port }}\nname={{ app_nmae }}\n")
    role(
        project,
        "t",
        tasks="- template: {src: app.conf.j2, dest: /tmp/never}\n",
        defaults="port: 80\napp_name: x\n",
    )
    project.write("site.yml", "- hosts: all\n  roles: [t]\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert (
        "roles/t/tasks/main.yml:1:3: undefined variable 'app_nmae' in template "
        "roles/t/templates/app.conf.j2" in result.stderr
    )
    assert "did you mean 'app_name'?" in result.stderr
    project.write("roles/t/templates/app.conf.j2", "{{ port }} {{ extra | default(1) }}\n")
    assert project.run("check", "site.yml", "-i", "hosts.yml").exit_code == 0


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("import_role: {name: r, tasks_from: nope}", "tasks file 'nope' not found in role r"),
        ("import_role: {name: r, task_from: x}", "unknown import_role argument 'task_from'"),
        ("import_role: {name: '{{ x }}'}", "import_role needs a role name without templates"),
        ("include_role: {name: r, apply: [x]}", "include_role 'apply' takes a mapping"),
    ],
)
def test_bad_role_tasks_are_refused_before_the_run(project, task, message):
    role(project, "r", tasks=say("r"))
    project.write("site.yml", f"- hosts: all\n  tasks:\n    - {task}\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert f"site.yml:3:7: {message}" in result.stderr


def test_role_entry_keywords_are_not_params(project):
    role(project, "r", tasks=say("{{ port | default('no port var') }} {{ p }}"))
    result, events = run(project, "- hosts: all\n  roles:\n    - {role: r, port: 22, p: 1}\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["no port var 1"]  # port is a keyword in Ansible too


def test_include_vars_that_finds_no_file_fails_the_host(project):
    result, events = run(project, "- hosts: all\n  tasks:\n    - include_vars: {dir: nowhere}\n")
    assert result.exit_code == 2
    failed = [e for e in events if e["event"] == "task_result" and e["status"] == "failed"]
    assert "could not find 'nowhere'" in failed[0]["result"]["msg"]


def test_short_names_resolve_in_the_play_collections_and_the_role_own_collection(project):
    base = "collections/ansible_collections/acme/infra/roles"
    project.write(f"{base}/db/tasks/main.yml", say("db"))
    project.write(f"{base}/db/meta/main.yml", "dependencies: [common]\n")
    project.write(f"{base}/common/tasks/main.yml", say("sibling common"))
    result, events = run(project, "- hosts: all\n  collections: [acme.infra]\n  roles: [db]\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["sibling common", "db"]


def test_a_role_that_imports_itself_through_another_is_refused(project):
    role(project, "s", tasks="- import_role: {name: t}\n")
    role(project, "t", tasks="- include_role: {name: s}\n")
    project.write("site.yml", "- hosts: all\n  roles: [s]\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "roles/t/tasks/main.yml:1:3: role cycle: s -> t -> s" in result.stderr


def test_a_role_sees_the_defaults_and_vars_of_its_dependencies(project):
    role(project, "base", defaults="from_dep: dep default\nshared: dep\n", vars="dep_var: v\n")
    role(
        project,
        "app",
        meta="dependencies: [base]\n",
        defaults="shared: app\n",
        tasks=say("{{ from_dep }} {{ shared }} {{ dep_var }}"),
    )
    result, events = run(project, "- hosts: all\n  tasks:\n    - include_role: {name: app}\n")
    assert result.exit_code == 0, result.output
    assert messages(events) == ["dep default app v"]


def test_a_private_include_role_keeps_its_dependencies_defaults_private(project):
    role(project, "base", defaults="from_dep: x\n")
    role(project, "app", meta="dependencies: [base]\n", tasks=say("{{ from_dep }}"))
    project.write(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_role: {name: app}\n"
        '    - debug: {msg: "{{ from_dep }}"}\n',
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "site.yml:4:7: undefined variable 'from_dep'" in result.stderr


def test_start_at_task_finds_a_role_task_with_or_without_its_role_name(project):
    tasks = "- name: first\n  debug: {msg: one}\n- name: second\n  debug: {msg: two}\n"
    role(project, "r", tasks=tasks)
    playbook = "- hosts: all\n  roles: [r]\n"
    for name in ("second", "r : second"):
        result, events = run(project, playbook, "--start-at-task", name)
        assert result.exit_code == 0, result.output
        assert messages(events) == ["two"]


def test_a_role_argument_spec_checks_params_before_the_role_runs(project):
    project.write(
        "roles/s/meta/argument_specs.yml",
        """
        argument_specs:
          main:
            options:
              site: {type: str, required: true}
              port: {type: int}
              mode: {type: str, choices: [a, b]}
        """,
    )
    role(project, "s", tasks=say("{{ site }} {{ port | default(0) + 1 }}"))
    result, events = run(project, "- hosts: all\n  roles:\n    - {role: s, site: x, p: 1}\n")
    assert result.exit_code == 0, result.output
    assert messages(events)[-1] == "x 1"
    result, events = run(project, "- hosts: all\n  roles:\n    - {role: s, mode: c}\n")
    assert result.exit_code == 2
    failed = [e for e in events if e["event"] == "task_result" and e["status"] == "failed"]
    assert failed[0]["task"] == "s : Validating arguments against arg spec 'main'"
    assert "missing required arguments: site" in failed[0]["result"]["msg"]
    assert "value of mode must be one of: a, b, got: c" in failed[0]["result"]["msg"]

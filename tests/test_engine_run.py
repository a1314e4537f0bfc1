"""The engine end to end: playbooks run through ``corral run`` on the local connection."""

from __future__ import annotations

import json

import pytest

LOCAL = """
all:
  hosts:
    h1: {ansible_connection: local}
    h2: {ansible_connection: local}
    h3: {ansible_connection: local}
  children:
    web:
      hosts: {h1: {}, h2: {}}
    db:
      hosts: {h3: {}}
"""


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", LOCAL)
    return corral_project


def run_json(project, playbook: str, *args: str):
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, result.json_lines()


def messages(events, host=None):
    return [
        e["result"]["msg"]
        for e in events
        if e["event"] in ("task_result", "item_result")
        and e["action"] == "debug"
        and "msg" in e["result"]
        and (host is None or e["host"] == host)
        and "results" not in e["result"]
    ]


def test_debug_and_recap(project):
    result, events = run_json(
        project,
        """
        - hosts: web
          gather_facts: false
          tasks:
            - debug: {msg: "hi {{ inventory_hostname }}"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert sorted(messages(events)) == ["hi h1", "hi h2"]
    assert events[-1]["event"] == "recap"
    assert events[-1]["hosts"] == {
        h: {
            "ok": 1,
            "changed": 0,
            "unreachable": 0,
            "failed": 0,
            "skipped": 0,
            "rescued": 0,
            "ignored": 0,
        }
        for h in ("h1", "h2")
    }
    assert [e["event"] for e in events[:3]] == ["run_start", "play_start", "task_start"]


def test_loop_register_when(project):
    result, events = run_json(
        project,
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - name: loop
              debug: {msg: "item {{ item }}"}
              loop: [1, 2, 3]
              register: looped
            - debug:
                msg: "{{ looped.results | length }} results, first {{ looped.results[0].item }}"
            - debug: {msg: "never"}
              when: looped.results | length > 5
            - set_fact: {answer: 42}
            - debug: {msg: "answer={{ answer }}"}
              when: answer == 42
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["item 1", "item 2", "item 3", "3 results, first 1", "answer=42"]
    result.assert_recap("h1", ok=4, skipped=1)
    loop_result = next(e for e in events if e["event"] == "task_result" and e["task"] == "loop")
    assert [r["item"] for r in loop_result["result"]["results"]] == [1, 2, 3]


def test_failure_stops_the_host_and_exit_code_2(project):
    result, events = run_json(
        project,
        """
        - hosts: web
          gather_facts: false
          tasks:
            - fail: {msg: "boom on {{ inventory_hostname }}"}
              when: inventory_hostname == 'h1'
            - debug: {msg: "still here"}
        """,
    )
    assert result.exit_code == 2
    assert messages(events) == ["still here"]
    result.assert_recap("h1", ok=0, failed=1)
    result.assert_recap("h2", ok=1, skipped=1)


def test_ignore_errors_and_failed_when_changed_when(project):
    result, _events = run_json(
        project,
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - command: "false"
              ignore_errors: true
            - shell: "echo hello"
              register: out
              changed_when: false
              failed_when: "'hello' not in out.stdout"
            - shell: "echo oops"
              register: bad
              failed_when: "'oops' in bad.stdout"
              ignore_errors: yes
        """,
    )
    assert result.exit_code == 0, result.output
    # As in Ansible, an ignored failure also counts as ok (and as changed when it changed).
    result.assert_recap("h1", ok=3, changed=2, failed=0, ignored=2)


def test_block_rescue_always(project):
    result, events = run_json(
        project,
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - block:
                - debug: {msg: "in block"}
                - fail: {msg: "broken"}
                - debug: {msg: "not reached"}
              rescue:
                - debug: {msg: "rescued"}
              always:
                - debug: {msg: "always"}
            - debug: {msg: "after"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["in block", "rescued", "always", "after"]
    result.assert_recap("h1", ok=4, failed=0, rescued=1)


def test_always_runs_after_an_unrescued_failure(project):
    result, events = run_json(
        project,
        """
        - hosts: h1
          tasks:
            - block:
                - fail: {msg: "broken"}
              always:
                - debug: {msg: "always"}
            - debug: {msg: "not reached"}
        """,
    )
    assert result.exit_code == 2
    assert messages(events) == ["always"]


def test_handlers_run_once_at_the_end_and_flush(project):
    result, events = run_json(
        project,
        """
        - hosts: h1
          tasks:
            - shell: "true"
              notify: restart
            - shell: "true"
              notify: [restart, reload]
            - meta: flush_handlers
            - debug: {msg: "after flush"}
            - shell: "true"
              notify: reload
          handlers:
            - name: restart
              debug: {msg: "restarting"}
            - name: reload
              debug: {msg: "reloading"}
              listen: reload-topic
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["restarting", "reloading", "after flush", "reloading"]
    assert [e["event"] for e in events if e["event"] == "handler_start"] == ["handler_start"] * 3


def test_until_retries(project, tmp_path):
    counter = tmp_path / "count"
    result, events = run_json(
        project,
        f"""
        - hosts: h1
          gather_facts: false
          tasks:
            - shell: "echo x >> {counter}; wc -l < {counter}"
              register: attempts
              until: attempts.stdout | int >= 3
              retries: 5
              delay: 0
        """,
    )
    assert result.exit_code == 0, result.output
    assert counter.read_text().count("x") == 3
    final = next(e for e in events if e["event"] == "task_result")
    assert final["result"]["attempts"] == 3
    assert len([e for e in events if e["event"] == "retry"]) == 2


def test_serial_batches_and_max_fail_percentage(project):
    result, events = run_json(
        project,
        """
        - hosts: all
          gather_facts: false
          serial: 1
          max_fail_percentage: 0
          tasks:
            - fail: {msg: "first batch fails"}
              when: inventory_hostname == 'h1'
            - debug: {msg: "ran"}
        """,
    )
    assert result.exit_code == 2
    assert [e["host"] for e in events if e["event"] == "task_result"] == ["h1"]


def test_serial_list_batches(project):
    result, events = run_json(
        project,
        """
        - hosts: all
          serial: [1, 2]
          tasks:
            - debug: {msg: "{{ ansible_play_batch | join(',') }}"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["h1", "h2,h3", "h2,h3"]


def test_tags_and_skip_tags(project):
    playbook = """
        - hosts: h1
          tasks:
            - debug: {msg: "a"}
              tags: [a]
            - debug: {msg: "b"}
              tags: b
            - debug: {msg: "always"}
              tags: [always]
            - debug: {msg: "never"}
              tags: [never, special]
            - debug: {msg: "untagged"}
        """
    _, events = run_json(project, playbook, "--tags", "a")
    assert messages(events) == ["a", "always"]
    _, events = run_json(project, playbook, "--skip-tags", "a,always")
    assert messages(events) == ["b", "untagged"]
    _, events = run_json(project, playbook, "--tags", "special")
    assert messages(events) == ["always", "never"]


def test_extra_vars_win_and_limit(project, tmp_path):
    (tmp_path / "vars.yml").write_text("who: file\n")
    result, events = run_json(
        project,
        """
        - hosts: all
          vars: {who: play}
          tasks:
            - debug: {msg: "{{ who }}"}
        """,
        "-e",
        f"@{tmp_path / 'vars.yml'}",
        "--limit",
        "h3",
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["file"]
    _, events = run_json(
        project,
        "- hosts: h1\n  vars: {who: play}\n  tasks:\n    - debug: {msg: '{{ who }}'}\n",
        "-e",
        "who=cli",
    )
    assert messages(events) == ["cli"]


def test_run_once_and_delegate_to_localhost(project):
    result, events = run_json(
        project,
        """
        - hosts: web
          tasks:
            - shell: "echo {{ inventory_hostname }}"
              register: once
              run_once: true
            - debug: {msg: "{{ once.stdout }}"}
            - command: hostname
              delegate_to: localhost
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["h1", "h1"]


def test_free_strategy_runs_every_host(project):
    result, events = run_json(
        project,
        """
        - hosts: all
          strategy: free
          tasks:
            - debug: {msg: "{{ inventory_hostname }} one"}
            - debug: {msg: "{{ inventory_hostname }} two"}
        """,
    )
    assert result.exit_code == 0, result.output
    for host in ("h1", "h2", "h3"):
        assert messages(events, host) == [f"{host} one", f"{host} two"]


def test_check_mode_changes_nothing(project, tmp_path):
    target = tmp_path / "out.txt"
    result, events = run_json(
        project,
        f"""
        - hosts: h1
          gather_facts: false
          tasks:
            - copy: {{content: "hello\\n", dest: "{target}"}}
            - shell: "touch {target}.shell"
        """,
        "--check",
    )
    assert result.exit_code == 0, result.output
    assert not target.exists()
    assert not (tmp_path / "out.txt.shell").exists()
    statuses = [e["status"] for e in events if e["event"] == "task_result"]
    assert statuses == ["changed", "skipped"]


def test_include_and_import_tasks(project):
    project.write("tasks/one.yml", "- debug: {msg: 'one {{ n }}'}\n")
    project.write(
        "tasks/two.yml", "- debug: {msg: 'two'}\n- import_tasks: one.yml\n  vars: {n: inner}\n"
    )
    result, events = run_json(
        project,
        """
        - hosts: h1
          tasks:
            - import_tasks: tasks/two.yml
            - include_tasks: tasks/one.yml
              vars: {n: "{{ item }}"}
              loop: [a, b]
        """,
    )
    assert result.exit_code == 0, result.output
    assert messages(events) == ["two", "one inner", "one a", "one b"]


def test_start_at_task(project):
    _, events = run_json(
        project,
        """
        - hosts: h1
          tasks:
            - {name: first, debug: {msg: first}}
            - {name: second, debug: {msg: second}}
            - {name: third, debug: {msg: third}}
        """,
        "--start-at-task",
        "sec*",
    )
    assert messages(events) == ["second", "third"]


def test_no_log_hides_the_result(project):
    result, events = run_json(
        project,
        """
        - hosts: h1
          tasks:
            - shell: "echo topsecret"
              no_log: true
        """,
    )
    assert result.exit_code == 0
    assert "topsecret" not in result.stdout
    assert "censored" in events[-2 if events[-2]["event"] == "task_result" else -3]["result"]


def test_any_errors_fatal_stops_all_hosts(project):
    result, events = run_json(
        project,
        """
        - hosts: all
          any_errors_fatal: true
          tasks:
            - fail: {msg: x}
              when: inventory_hostname == 'h2'
            - debug: {msg: "should not run"}
        """,
    )
    assert result.exit_code == 2
    assert messages(events) == []


def test_console_output_looks_like_ansible(project):
    project.write(
        "site.yml",
        """
        - name: Demo play
          hosts: h1
          gather_facts: false
          tasks:
            - name: say
              debug: {msg: hello}
            - name: touch
              shell: "true"
        """,
    )
    result = project.run("run", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 0, result.output
    result.fnmatch_lines(
        [
            "PLAY [[]Demo play] ***",
            "TASK [[]say] ***",
            "ok: [[]h1] => {",
            '*"msg": "hello"',
            "TASK [[]touch] ***",
            "changed: [[]h1]",
            "PLAY RECAP ***",
            "h1 * : ok=2 * changed=1 * unreachable=0 * failed=0 * skipped=0 * rescued=0 *"
            " ignored=0",
        ]
    )


def test_the_demo_playbook_runs(corral_project):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "playbooks", corral_project.path / "playbooks")
    shutil.copytree(root / "inventory", corral_project.path / "inventory")
    demo_dir = corral_project.path / "demo-out"
    result = corral_project.run(
        "run",
        "playbooks/demo.yml",
        "-i",
        "inventory/local.yml",
        "-e",
        f"demo_dir={demo_dir}",
        "--output",
        "json",
    )
    assert result.exit_code == 0, result.output
    recap = result.recap()["localhost"]
    assert (recap["rescued"], recap["failed"]) == (1, 0)
    assert sorted(p.name for p in demo_dir.iterdir()) == [
        "nginx.conf",
        "postgresql.conf",
        "redis.conf",
    ]
    handler = [e for e in result.json_lines() if e["event"] == "handler_start"]
    assert len(handler) == 1
    again = corral_project.run(
        "run",
        "playbooks/demo.yml",
        "-i",
        "inventory/local.yml",
        "-e",
        f"demo_dir={demo_dir}",
        "--output",
        "json",
    )
    assert again.recap()["localhost"]["changed"] == 0, json.dumps(again.recap())


def test_templated_vars_files_are_loaded_with_play_and_extra_vars(project):
    project.write("vars/prod.yml", "who: production\n")
    project.write("vars/default.yml", "who: fallback\n")
    playbook = """
        - hosts: h1
          vars: {env: prod}
          vars_files:
            - ["vars/{{ env }}.yml", vars/default.yml]
          tasks:
            - debug: {msg: "{{ who }}"}
        """
    result, events = run_json(project, playbook)
    assert result.exit_code == 0, result.output
    assert messages(events) == ["production"]
    _, events = run_json(project, playbook, "-e", "env=staging")
    assert messages(events) == ["fallback"]

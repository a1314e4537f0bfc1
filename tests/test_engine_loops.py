"""Loops end to end: ``loop``, the ``with_*`` family and ``loop_control``, as Ansible runs them."""

from __future__ import annotations

import json

import pytest

HOSTS = """
all:
  hosts:
    h1: {ansible_connection: local}
    h2: {ansible_connection: local}
  children:
    web:
      hosts: {h1: {}}
"""


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run_json(project, tasks: str, *args: str):
    """Run ``tasks`` (YAML, indented for a play's task list) on h1; the result and events."""
    project.write(
        "site.yml",
        "- hosts: h1\n  gather_facts: false\n  tasks:\n"
        + "\n".join("    " + line for line in tasks.strip("\n").splitlines()),
    )
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, result.json_lines()


def item_messages(events, task: str) -> list[object]:
    return [e["result"]["msg"] for e in events if e["event"] == "item_result" and e["task"] == task]


def task_result(events, task: str) -> dict:
    return next(e for e in events if e["event"] == "task_result" and e["task"] == task)


def recap(events) -> dict[str, int]:
    return events[-1]["hosts"]["h1"]


# -- regressions ----------------------------------------------------------------


@pytest.mark.parametrize("loop", ["loop: []", "with_items: []", 'loop: "{{ [] }}"'])
def test_an_empty_loop_is_skipped_as_in_ansible(project, loop: str) -> None:
    result, events = run_json(
        project,
        f"""
- name: empty
  debug: {{msg: "{{{{ item }}}}"}}
  {loop}
  register: out
- name: show
  debug: {{var: out}}
""",
    )
    assert result.exit_code == 0, result.output
    empty = task_result(events, "empty")
    assert empty["status"] == "skipped"
    expected = {
        "changed": False,
        "skipped": True,
        "skipped_reason": "No items in the list",
        "results": [],
    }
    assert empty["result"] == expected
    assert task_result(events, "show")["result"]["out"] == expected
    assert recap(events)["skipped"] == 1
    assert recap(events)["ok"] == 1


def test_an_empty_loop_shows_as_skipping_on_the_console(project) -> None:
    project.write("site.yml", "- hosts: h1\n  tasks:\n    - debug: {msg: hi}\n      loop: []\n")
    result = project.run("run", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 0, result.output
    assert "skipping: [h1]" in result.output


def test_a_bare_string_in_with_items_is_one_item(project) -> None:
    result, events = run_json(
        project,
        """
- name: bare
  debug: {msg: "got {{ item }}"}
  with_items: nginx
""",
    )
    assert result.exit_code == 0, result.output
    assert item_messages(events, "bare") == ["got nginx"]


def test_a_loop_over_a_string_fails_with_ansibles_message(project) -> None:
    result, events = run_json(
        project,
        """
- name: bad
  debug: {msg: "{{ item }}"}
  loop: nginx
""",
    )
    assert result.exit_code == 2
    failed = task_result(events, "bad")
    assert failed["status"] == "failed"
    assert "The `loop` value must resolve to a 'list', not 'str'." in failed["result"]["msg"]


def test_a_loop_that_fails_reports_its_own_error_when_when_needs_the_item(project) -> None:
    """The loop's error, not the one of a ``when`` that reads the item (awx's compose role)."""
    result, events = run_json(
        project,
        """
- name: bad
  debug: {msg: "{{ item }}"}
  loop: "{{ lookup('nosuchlookup', 'x') }}"
  when: (item | basename) == 'b'
""",
    )
    assert result.exit_code == 2
    failed = task_result(events, "bad")
    assert "unknown lookup 'nosuchlookup'" in failed["result"]["msg"]


def test_two_loops_on_one_task_are_refused_before_the_run(project) -> None:
    project.write(
        "site.yml",
        """
        - hosts: h1
          tasks:
            - debug: {msg: "{{ item }}"}
              loop: [a]
              with_items: [b]
        """,
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "site.yml:3:7" in result.output
    assert "loop and with_items" in result.output


def test_an_undefined_loop_is_no_error_when_when_skips_the_task(project) -> None:
    result, events = run_json(
        project,
        """
- name: guarded
  debug: {msg: "{{ item }}"}
  loop: "{{ missing_list }}"
  when: missing_list is defined
""",
    )
    assert result.exit_code == 0, result.output
    assert task_result(events, "guarded")["status"] == "skipped"


# -- the with_* family ------------------------------------------------------------

CASES = [
    ("with_items: [[a, b], c]", "{{ item }}", ["a", "b", "c"]),
    ('with_items: "{{ [[1, [2]], 3] }}"', "{{ item }}", [1, [2], 3]),
    ("with_list: [[a, b], c]", "{{ item }}", [["a", "b"], "c"]),
    ("with_dict: {x: 1, y: 2}", "{{ item.key }}={{ item.value }}", ["x=1", "y=2"]),
    ("with_dict: \"{{ {'k': 'v'} }}\"", "{{ item.key }}={{ item.value }}", ["k=v"]),
    ("with_together: [[a, b, c], [1, 2]]", "{{ item }}", [["a", 1], ["b", 2], ["c", None]]),
    ("with_nested: [[a, b], [1, 2]]", "{{ item.0 }}{{ item.1 }}", ["a1", "a2", "b1", "b2"]),
    ("with_cartesian: [[a], [1, 2]]", "{{ item.0 }}{{ item.1 }}", ["a1", "a2"]),
    ("with_indexed_items: [a, b]", "{{ item.0 }}:{{ item.1 }}", ["0:a", "1:b"]),
    ("with_flattened: [[a, [b, [c]]], d]", "{{ item }}", ["a", "b", "c", "d"]),
    ("with_sequence: start=1 end=5 stride=2", "{{ item }}", ["1", "3", "5"]),
    ("with_sequence: count=3 format=web%02d", "{{ item }}", ["web01", "web02", "web03"]),
    ("with_sequence: 4-6", "{{ item }}", ["4", "5", "6"]),
    ("with_sequence: start=3 end=1 stride=-1", "{{ item }}", ["3", "2", "1"]),
    ("with_lines: printf 'one\\ntwo\\n'", "{{ item }}", ["one", "two"]),
    ("with_inventory_hostnames: 'all:!web'", "{{ item }}", ["h2"]),
    ("with_random_choice: [only]", "{{ item }}", ["only"]),
]


@pytest.mark.parametrize(("loop", "msg", "expected"), CASES)
def test_with_lookup_loops_give_ansibles_items(project, loop: str, msg: str, expected) -> None:
    result, events = run_json(
        project,
        f"""
- name: loop
  debug: {{msg: "{msg}"}}
  {loop}
""",
    )
    assert result.exit_code == 0, result.output
    assert item_messages(events, "loop") == expected


def test_with_subelements_pairs_each_element_with_its_sublist(project) -> None:
    result, events = run_json(
        project,
        """
- name: sub
  debug: {msg: "{{ item.0.name }}:{{ item.1 }}:{{ item.0.ssh | default('gone') }}"}
  with_subelements:
    - [{name: u1, ssh: [k1, k2]}, {name: u2}, {name: u3, ssh: [k3]}]
    - ssh
    - {skip_missing: true}
- name: missing
  debug: {msg: "{{ item }}"}
  with_subelements:
    - [{name: u2}]
    - ssh
""",
    )
    # As Ansible: the sub-list is taken out of the element each item carries.
    assert item_messages(events, "sub") == ["u1:k1:gone", "u1:k2:gone", "u3:k3:gone"]
    missing = task_result(events, "missing")
    assert missing["status"] == "failed"
    assert "could not find 'ssh' key in iterated item" in missing["result"]["msg"]
    assert result.exit_code == 2


def test_with_fileglob_and_first_found_search_files_dirs(project) -> None:
    project.write("files/app.conf", "x")
    project.write("files/skip.txt", "x")
    project.write("templates/b.j2", "x")
    result, events = run_json(
        project,
        """
- name: glob
  debug: {msg: "{{ item | basename }}"}
  with_fileglob: "*.conf"
- name: first
  debug: {msg: "{{ item | basename }}"}
  with_first_found: [missing.conf, app.conf]
- name: first for a template
  template: {src: "{{ item }}", dest: "{{ playbook_dir }}/out.txt"}
  with_first_found: [a.j2, b.j2]
- name: none found
  debug: {msg: "{{ item }}"}
  with_first_found: [{files: [nothing.conf], skip: true}]
""",
    )
    assert result.exit_code == 0, result.output
    assert item_messages(events, "glob") == ["app.conf"]
    assert item_messages(events, "first") == ["app.conf"]
    assert task_result(events, "first for a template")["status"] == "changed"
    assert task_result(events, "none found")["status"] == "skipped"


def test_with_sequence_errors_are_ansibles(project) -> None:
    result, events = run_json(
        project,
        """
- name: backwards
  debug: {msg: "{{ item }}"}
  with_sequence: start=5 end=1
""",
    )
    assert result.exit_code == 2
    assert (
        "to count backwards make stride negative"
        in task_result(events, "backwards")["result"]["msg"]
    )


def test_with_items_on_include_tasks_flattens(project) -> None:
    project.write("inc.yml", '- debug: {msg: "inc {{ item }}"}\n')
    result, events = run_json(
        project,
        """
- include_tasks: inc.yml
  with_items: [[a, b], c]
""",
    )
    assert result.exit_code == 0, result.output
    messages = [
        e["result"]["msg"]
        for e in events
        if e["event"] == "task_result" and e.get("action") == "debug"
    ]
    assert messages == ["inc a", "inc b", "inc c"]


# -- loop_control ----------------------------------------------------------------


def test_loop_control_extended_gives_all_of_ansible_loop(project) -> None:
    result, events = run_json(
        project,
        """
- name: ext
  debug:
    msg: >-
      {{ ansible_loop.index }} {{ ansible_loop.index0 }} {{ ansible_loop.revindex }}
      {{ ansible_loop.revindex0 }} {{ ansible_loop.first }} {{ ansible_loop.last }}
      {{ ansible_loop.length }} {{ ansible_loop.previtem | default('-') }}
      {{ ansible_loop.nextitem | default('-') }} {{ ansible_loop.allitems | join(',') }} {{ i }}
  loop: [a, b, c]
  loop_control: {extended: true, index_var: i}
  register: out
""",
    )
    assert result.exit_code == 0, result.output
    assert item_messages(events, "ext") == [
        "1 0 3 2 True False 3 - b a,b,c 0",
        "2 1 2 1 False False 3 a c a,b,c 1",
        "3 2 1 0 False True 3 b - a,b,c 2",
    ]
    first = task_result(events, "ext")["result"]["results"][0]
    assert first["i"] == 0
    assert first["ansible_index_var"] == "i"
    assert first["ansible_loop"]["index"] == 1


def test_loop_control_extended_allitems_false_leaves_allitems_out(project) -> None:
    result, events = run_json(
        project,
        """
- name: ext
  debug: {msg: "{{ ansible_loop.allitems is defined }}"}
  loop: [a]
  loop_control: {extended: true, extended_allitems: false}
""",
    )
    assert result.exit_code == 0, result.output
    assert item_messages(events, "ext") == [False]


def test_loop_control_break_when_stops_after_the_item(project) -> None:
    result, events = run_json(
        project,
        """
- name: brk
  debug: {msg: "n{{ item }}"}
  loop: [1, 2, 3, 4]
  register: out
  loop_control:
    break_when: out.msg == 'n2'
""",
    )
    assert result.exit_code == 0, result.output
    assert item_messages(events, "brk") == ["n1", "n2"]
    assert json.dumps(task_result(events, "brk")["result"]["results"]).count('"msg"') == 2


def test_the_label_sees_the_items_result_and_pause_may_be_a_template(project) -> None:
    result, events = run_json(
        project,
        """
- name: labelled
  command: "echo {{ item }}"
  loop: [a, b]
  register: out
  vars: {gap: 0}
  loop_control:
    label: "{{ item }} said {{ out.stdout }}"
    pause: "{{ gap }}"
""",
    )
    assert result.exit_code == 0, result.output
    labels = [e["item"] for e in events if e["event"] == "item_result"]
    assert labels == ["a said a", "b said b"]

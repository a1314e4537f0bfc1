"""A secret planted through every route reaches no sink.

Routes: ``-p``, ``-p @file``, ``-e`` and ``-e @file`` over secret params, the inventory's
``ansible_password`` and a ``host_vars`` file's ``ansible_become_password``, the items
of a ``no_log`` loop, and a ``notifications:`` webhook whose URL is a secret param.
Sinks: the console, ``--output json`` events, every byte of the run store's files
(``corral.db``, ``-wal``, ``-shm``; read while another connection holds the store open
and again once it is closed), crash files, and what ``corral show``, ``logs``,
``report --format html|json`` and ``history --json`` print. Each secret must also have
done its job (rendered into a command, sent to the webhook), so that the test proves
something.
"""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer
from secret_sinks import history_outputs, leaks, run_ids, store_bytes, store_held_open

from corral.testing import CorralProject

PLAYBOOK = """
- name: everything secret
  hosts: all
  # Gathered facts would hold SINK_ITEMS in ansible_env: docs/security.md, facts.
  gather_facts: false
  params:
    p_cli: {type: string, secret: true}
    p_file: {type: string, secret: true}
    p_extra: {type: string, secret: true, default: decoy}
    p_extra_file: {type: string, secret: true, default: decoy}
    hook_url: {type: string, secret: true}
  notifications:
    - channel: webhook
      url: "{{ hook_url }}"
      payload: {text: "done"}
  tasks:
    - debug: {var: ansible_password}
    - debug: {var: ansible_become_password}
    - debug: {var: p_extra}
    - debug:
        msg: >-
          {{ p_cli }} {{ p_file }} {{ p_extra }} {{ p_extra_file }} {{ hook_url }}
          {{ ansible_password }} {{ ansible_become_password }}
    - debug: {var: "hostvars[inventory_hostname]"}
    - name: every secret, rendered into a command and printed back
      shell: >-
        printf '%s\\n' {{ p_cli | quote }} {{ p_file | quote }} {{ p_extra | quote }}
        {{ p_extra_file | quote }} {{ ansible_password | quote }}
        {{ ansible_become_password | quote }} | tee {{ out }}
    - name: users
      shell: "echo {{ item }} >> {{ out }}"
      loop: "{{ lookup('env', 'SINK_ITEMS') | split(',') }}"
      register: users
      no_log: true
"""

SECRETS = {
    "-p": "Sink-Cli-1a2b",
    "-p @file": "Sink-Pfile-3c4d",
    "-e": "Sink-Extra-5e6f",
    "-e @file": "Sink-Efile-7g8h",
    "inventory ansible_password": "Sink-Login-9i0j",
    "host_vars ansible_become_password": "Sink-Sudo-1k2l",
    "no_log item": "Sink-Item-3m4n",
    "notifications webhook": "Sink-Hook-5o6p",
}


def write_project(project: CorralProject) -> None:
    project.write("site.yml", PLAYBOOK)
    project.write(
        "warmup.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: warm}\n"
    )
    login = SECRETS["inventory ansible_password"]
    project.write("hosts.ini", f"localhost ansible_connection=local ansible_password={login}\n")
    project.write(
        "host_vars/localhost.yml",
        f"ansible_become_password: {SECRETS['host_vars ansible_become_password']}\n",
    )
    project.write("params.yml", f"p_file: {SECRETS['-p @file']}\n")
    project.write("vars.yml", f"p_extra_file: {SECRETS['-e @file']}\n")
    project.env["SINK_ITEMS"] = f"{SECRETS['no_log item']},plain-user"


def test_a_secret_from_any_route_reaches_no_sink(
    corral_project: CorralProject, httpserver: HTTPServer
) -> None:
    project = corral_project
    write_project(project)
    httpserver.expect_request(f"/hook/{SECRETS['notifications webhook']}").respond_with_json({})
    hook_url = httpserver.url_for(f"/hook/{SECRETS['notifications webhook']}")
    out = project.path / "out.txt"
    warm = project.run_subprocess("run", "warmup.yml", "-i", "hosts.ini")
    assert warm.exit_code == 0, warm.output  # the store exists, to be held open

    sinks: dict[str, str | bytes] = {}
    with store_held_open(project):
        for output in ("console", "json"):
            out.unlink(missing_ok=True)
            result = project.run_subprocess(
                "run",
                "site.yml",
                "-i",
                "hosts.ini",
                "--output",
                output,
                "-vv",
                "-D",
                "-e",
                f"out={out}",
                "-p",
                f"p_cli={SECRETS['-p']}",
                "-p",
                "@params.yml",
                "-e",
                f"p_extra={SECRETS['-e']}",
                "-e",
                "@vars.yml",
                "-p",
                f"hook_url={hook_url}",
            )
            assert result.exit_code == 0, result.output
            sinks[f"{output} output"] = result.output
            # Each secret did its job: rendered into the command, or sent to the webhook.
            written = out.read_text().split()
            routes = [route for route in SECRETS if route != "notifications webhook"]
            assert written == [SECRETS[route] for route in routes] + ["plain-user"]
        if_held = store_bytes(project)
    assert "corral.db-wal" in if_held, "the write-ahead log is read while the store is open"
    sinks.update({f"{name} (open)": data for name, data in if_held.items()})
    sinks.update({f"{name} (closed)": data for name, data in store_bytes(project).items()})
    sinks.update(history_outputs(project, run_ids(project)))

    sent = [request.path for request, _ in httpserver.log]
    assert sent == [f"/hook/{SECRETS['notifications webhook']}"] * 2
    events = [json.loads(line) for line in str(sinks["json output"]).splitlines()]
    assert any(e["event"] == "task_result" for e in events)
    assert leaks(SECRETS, sinks) == []
    assert "(item=********)" in str(sinks["console output"])


def test_a_notification_error_does_not_quote_a_secret(corral_project: CorralProject) -> None:
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          params:
            hook_method: {type: string, secret: true}
          notifications:
            - channel: webhook
              url: http://127.0.0.1:9/hook
              payload: {}
              method: "{{ hook_method }}"
          tasks:
            - debug: {msg: hi}
        """,
    )
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    result = corral_project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "-p", "hook_method=Sink-Method-7q8r"
    )
    assert result.exit_code == 0, result.output
    assert "warning: notification via webhook failed: " in result.stderr
    assert "********" in result.stderr, result.stderr
    assert "Sink-Method-7q8r" not in result.output

"""``notify:`` names that reach no handler: refused before the run, or failing the task."""

from __future__ import annotations

INVENTORY = "h1 ansible_connection=local\nh2 ansible_connection=local\n"

MISSPELT = """
- hosts: all
  tasks:
    - name: deploy
      command: "true"
      notify: restart ap
  handlers:
    - name: restart app
      debug: {msg: restarted}
"""


def test_a_misspelt_handler_name_is_refused_before_the_run(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write("site.yml", MISSPELT)
    for command in ("check", "run"):
        result = corral_project.run(command, "site.yml", "-i", "hosts.ini")
        assert result.exit_code == 4, result.output
        assert "site.yml:3:7: task 'deploy' notifies 'restart ap'" in result.stderr
        assert "did you mean 'restart app'?" in result.stderr
        assert "Traceback" not in result.output
    assert "restarted" not in result.output


def test_listen_topics_and_handler_names_are_both_known(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          tasks:
            - command: "true"
              notify: [app changed, restart db]
            - command: "true"
              rollback:
                - command: "true"
                  notify: restart db
          handlers:
            - name: restart app
              debug: {msg: app}
              listen: app changed
            - name: restart db
              debug: {msg: db}
        """,
    )
    assert corral_project.run("check", "site.yml", "-i", "hosts.ini").exit_code == 0
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    result.assert_recap("h1", ok=4, changed=2)


def test_a_rollback_task_notifying_nothing_known_is_refused(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          tasks:
            - command: "true"
              rollback:
                - command: "true"
                  notify: nothing
        """,
    )
    result = corral_project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "notifies 'nothing'" in result.stderr
    assert "this play has no handlers" in result.stderr


def test_a_templated_name_that_reaches_no_handler_fails_the_task(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          vars: {svc: apx}
          tasks:
            - name: deploy
              command: "true"
              notify: "restart {{ svc }}"
            - debug: {msg: after}
          handlers:
            - name: restart app
              debug: {msg: restarted}
        """,
    )
    assert corral_project.run("check", "site.yml", "-i", "hosts.ini").exit_code == 0
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 2, result.output
    (deploy,) = {
        e["result"]["msg"]
        for e in result.json_lines()
        if e["event"] == "task_result" and e["task"] == "deploy"
    }
    assert deploy == (
        "The requested handler 'restart apx' was not found in either the main handlers "
        "list nor in the listening handlers list"
    )
    assert result.recap()["h1"]["failed"] == 1
    assert "after" not in {e.get("result", {}).get("msg") for e in result.json_lines()}


def test_a_templated_name_reaches_its_handler(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          vars: {svc: app}
          tasks:
            - command: "true"
              notify: "restart {{ svc }}"
          handlers:
            - name: restart app
              debug: {msg: restarted}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    result.assert_recap("h1", ok=2, changed=1)

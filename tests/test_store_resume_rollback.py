"""``corral resume`` after a rollback, and the files a resumed run's steps read.

A unit that a rollback undid is not finished: the resume runs it again. The files
that steps read at run time (``templates/``, ``files/``) are not in the snapshot;
the resumed run finds them where the interrupted run did.
"""

from __future__ import annotations

from pathlib import Path

UPGRADE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: upgrade
      shell: "echo upgrade {{ inventory_hostname }} >> {{ out }}"
      rollback:
        - shell: "echo undo {{ inventory_hostname }} >> {{ out }}"
    - name: health check
      shell: "test -f {{ flags }}/{{ inventory_hostname }}"
    - name: done
      shell: "echo done {{ inventory_hostname }} >> {{ out }}"
"""


def run_json(project, *args: str):
    result = project.run(*args, "--output", "json")
    return result, result.json_lines()


def test_resume_reruns_the_units_a_rollback_undid(corral_project, tmp_path):
    out, flags = tmp_path / "out.txt", tmp_path / "flags"
    flags.mkdir()
    (flags / "h1").touch()
    corral_project.write(
        "hosts.ini",
        f"[all:vars]\nansible_connection=local\nout={out}\nflags={flags}\n[all]\nh1\nh2\n",
    )
    corral_project.write("site.yml", UPGRADE)
    first, events = run_json(corral_project, "run", "site.yml", "-i", "hosts.ini")
    assert first.exit_code == 2, first.output
    run_id = events[0]["run_id"]
    assert sorted(out.read_text().splitlines()) == [
        "done h1", "undo h1", "undo h2", "upgrade h1", "upgrade h2",
    ]  # fmt: skip
    out.write_text("")
    (flags / "h2").touch()
    resumed, events = run_json(corral_project, "resume", run_id)
    assert resumed.exit_code == 0, resumed.output
    # Both hosts were rolled back: both are upgraded again, not left half-done.
    assert sorted(out.read_text().splitlines()) == [
        "done h1", "done h2", "upgrade h1", "upgrade h2",
    ]  # fmt: skip
    replayed = {e["task"] for e in events if e["event"] == "task_result" and e.get("resumed")}
    assert replayed == set()


def test_a_second_resume_after_a_successful_rerun_has_nothing_to_undo(corral_project, tmp_path):
    out, flags = tmp_path / "out.txt", tmp_path / "flags"
    flags.mkdir()
    corral_project.write(
        "hosts.ini", f"[all:vars]\nansible_connection=local\nout={out}\nflags={flags}\n[all]\nh1\n"
    )
    corral_project.write(
        "site.yml",
        UPGRADE + '    - name: final gate\n      shell: "test -f {{ flags }}/gate"\n',
    )
    first, events = run_json(corral_project, "run", "site.yml", "-i", "hosts.ini")
    run_id = events[0]["run_id"]
    assert first.exit_code == 2
    (flags / "h1").touch()
    second, _ = run_json(corral_project, "resume", run_id)
    assert second.exit_code == 2, "the gate still fails, and the play rolls back again"
    out.write_text("")
    (flags / "gate").touch()
    third, _ = run_json(corral_project, "resume", run_id)
    assert third.exit_code == 0, third.output
    assert out.read_text().splitlines() == ["upgrade h1", "done h1"]


def test_a_resumed_run_finds_templates_and_files_of_the_original_playbook(corral_project, tmp_path):
    dest, flag = tmp_path / "dest", tmp_path / "go"
    dest.mkdir()
    corral_project.write("hosts.ini", "h1 ansible_connection=local\n")
    corral_project.write("deploy/templates/app.conf.j2", "name={{ inventory_hostname }}\n")
    corral_project.write("deploy/files/payload.txt", "payload\n")
    corral_project.write(
        "deploy/tasks/extra.yml", "- copy: {src: payload.txt, dest: '{{ d }}/b'}\n"
    )
    corral_project.write(
        "deploy/site.yml",
        """
        - hosts: all
          tasks:
            - shell: "test -f {{ flag }}"
            - template: {src: app.conf.j2, dest: "{{ d }}/app.conf"}
            - copy: {src: payload.txt, dest: "{{ d }}/payload.txt"}
            - import_tasks: tasks/extra.yml
            - debug: {msg: "{{ lookup('file', playbook_dir + '/files/payload.txt') }}"}
        """,
    )
    first, events = run_json(
        corral_project, "run", "deploy/site.yml", "-i", "hosts.ini", "-e", f"d={dest} flag={flag}"
    )
    assert first.exit_code == 2
    flag.touch()
    resumed, events = run_json(corral_project, "resume", events[0]["run_id"])
    assert resumed.exit_code == 0, resumed.output
    assert (dest / "app.conf").read_text() == "name=h1\n"
    assert (dest / "payload.txt").read_text() == "payload\n"
    assert (dest / "b").read_text() == "payload\n"
    shown = [
        e["result"]["msg"] for e in events if e["event"] == "task_result" and e["action"] == "debug"
    ]
    assert shown == ["payload"]
    assert Path(corral_project.path / "deploy/site.yml").exists()

"""lineinfile, blockinfile and replace inside a container, through the docker connection.

A private dockerd (tests/dockerd.py) runs a busybox container; the steps read and write
its files through the connection, so they work where the controller's files are not.
"""

from __future__ import annotations

import json

import dockerd as dockerd_service
from dockerd import DockerDaemon

from corral.testing import CorralProject

dockerd = dockerd_service.dockerd  # the module-scoped daemon fixture

HEADER = """
- hosts: all
  gather_facts: false
  tasks:
"""
SETUP = """    - copy: {content: "port=80\\nhost=a\\n", dest: /etc/app.conf, mode: "0640"}
"""
EDITS = """    - lineinfile:
        {path: /etc/app.conf, regexp: "^port=", line: "port=8080", validate: "grep -q 8080 %s"}
    - blockinfile: {path: /etc/app.conf, block: "extra=1", insertbefore: "^host="}
    - replace: {path: /etc/app.conf, regexp: "^host=a$", replace: "host=b"}
    - lineinfile: {path: /etc/app.conf, line: "never", validate: "false %s"}
      ignore_errors: true
"""


def test_the_edit_steps_work_through_the_docker_connection(
    corral_project: CorralProject, dockerd: DockerDaemon
) -> None:
    dockerd.remove_containers()
    client = dockerd.client()
    client.containers.run(dockerd.image, name="edit-1", detach=True)
    inventory = {
        "all": {
            "vars": {"ansible_connection": "docker", "docker_host": dockerd.url},
            "hosts": {"app": {"ansible_host": "edit-1"}},
        }
    }
    corral_project.write("hosts.yml", json.dumps(inventory))
    corral_project.write("site.yml", HEADER + SETUP + EDITS)
    try:
        first = corral_project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json")
        assert first.exit_code == 0, first.output
        first.assert_recap(changed=4, ignored=1)
        box = client.containers.get("edit-1")
        assert box.exec_run(["cat", "/etc/app.conf"]).output == (
            b"port=8080\n# BEGIN ANSIBLE MANAGED BLOCK\nextra=1\n"
            b"# END ANSIBLE MANAGED BLOCK\nhost=b\n"
        )
        assert box.exec_run(["stat", "-c", "%a", "/etc/app.conf"]).output == b"640\n"
        corral_project.write("site.yml", HEADER + EDITS)
        second = corral_project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json")
        assert second.exit_code == 0, second.output
        second.assert_recap(changed=0, ignored=1)
    finally:
        client.close()

#!/usr/bin/env python3
"""Ansible's dynamic-inventory protocol, with _meta.hostvars."""

import json
import sys

INVENTORY = {
    "web": {"hosts": ["web1", "web2"], "vars": {"http_port": 80, "tags": ["a", "b"]}},
    "db": {"hosts": ["db1"], "vars": {"ansible_user": "postgres"}},
    "prod": {"children": ["web", "db", "declared_by_child_list"]},
    "empty": {},
    "_meta": {
        "hostvars": {
            "web1": {"ansible_host": "192.0.2.11", "weight": 1.5},
            "db1": {"ansible_host": "192.0.2.21", "settings": {"max_conn": 100}},
            "not_in_any_group": {"ignored": True},
        }
    },
}

if len(sys.argv) == 2 and sys.argv[1] == "--list":
    json.dump(INVENTORY, sys.stdout)
elif len(sys.argv) == 3 and sys.argv[1] == "--host":
    json.dump({}, sys.stdout)
else:
    sys.exit("usage: inventory.py --list | --host HOST")

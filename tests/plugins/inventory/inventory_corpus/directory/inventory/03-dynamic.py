#!/usr/bin/env python3
"""A dynamic inventory inside an inventory directory."""

import json
import sys

if sys.argv[1:] == ["--list"]:
    print(
        json.dumps(
            {
                "cache": {"hosts": ["cache1"], "vars": {"from_script": 1}},
                "prod": {"children": ["cache"]},
                "_meta": {"hostvars": {"cache1": {"ansible_host": "10.1.0.1"}}},
            }
        )
    )
else:
    print("{}")

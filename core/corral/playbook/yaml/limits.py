"""The bounds on every YAML and JSON document corral reads from a user.

Playbooks, ``vars_files``, ``-e @file``, ``-p @file``, inventory files, ``group_vars``/
``host_vars`` files and inventory script output all share these numbers, so that no
input can hang the controller or exhaust its memory (see ``docs/security.md``). They are
fixed, not settings: a file over them was almost surely generated or concatenated by
mistake, and splitting it is always possible.
"""

from __future__ import annotations

__all__ = ["ALIAS_NODES_PER_NODE", "ALIAS_NODE_BUDGET", "MAX_DEPTH", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Files larger than this are refused before parsing."""

MAX_DEPTH = 200
"""Collections nested deeper than this are refused."""

ALIAS_NODE_BUDGET = 100_000
"""YAML aliases may add this many nodes, plus :data:`ALIAS_NODES_PER_NODE` ..."""

ALIAS_NODES_PER_NODE = 10
"""... per node written in the file, each alias counted as a full copy."""

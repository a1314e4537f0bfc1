"""What differs between the kinds of YAML file corral reads, on one bounded parsing path.

Playbooks and inventory data (inventory files, ``group_vars``/``host_vars`` files) go
through the same composer, with the same size, depth and alias bounds and the same
YAML 1.1 typing; a :class:`Dialect` says what each kind allows on top:

- :data:`PLAYBOOK` (the default): the standard tags plus Ansible's ``!unsafe`` and
  ``!vault``, a key written twice is an error, strings carry their marks, syntax
  errors are rewritten into plain words;
- the inventory's dialect (:func:`corral.playbook.yaml.read.load_data`): Ansible's
  ``!unsafe`` and ``!vault`` too, a repeated key is a warning and its
  last value wins (as PyYAML and Ansible do), strings are plain ``str`` (faster, and the
  inventory keeps plain values), and syntax errors keep PyYAML's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import CorralError, Location
from corral.playbook.yaml.errors import syntax_error

__all__ = ["PLAYBOOK", "Dialect"]


@dataclass(frozen=True)
class Dialect:
    """How one kind of file is read (see the module docstring)."""

    tags: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    """Local tags such as ``!unsafe``: each builds the value from the scalar's text or the
    finished list or mapping; a ``ValueError`` refuses the value at the tag's position."""

    on_duplicate: Callable[[Location, Any], None] | None = None
    """None: a key written twice in one mapping is an error. Otherwise it is called with
    where the repeat is and the key, and the last value is kept."""

    string_marks: bool = True
    """Whether strings come out as :class:`~corral.playbook.yaml.marked.MarkedStr`;
    mappings and lists always carry their marks."""

    syntax_error: Callable[[Any, str, str], CorralError] = syntax_error
    """The error for a PyYAML ``MarkedYAMLError`` raised on ``(exc, text, filename)``."""


def _playbook_tags() -> dict[str, Callable[[Any], Any]]:
    from corral.playbook.yaml.read import TAGS

    return dict(TAGS)


PLAYBOOK = Dialect(tags=_playbook_tags())

"""Ansible's ``comment`` filter: text made into a comment block for a configuration file.

Roles start their templates with ``{{ ansible_managed | comment }}``. The output is
Ansible's to the character (a line of the prefix, each line decorated, a line of the
postfix), so that a file written by corral is the file ansible-playbook writes and
neither tool sees a change after the other.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from jinja2.utils import pass_environment

from corral import TemplateError
from corral.playbook.templating.limits import TemplateLimits

__all__ = ["STYLES", "comment"]

# Each style's decoration, and the lines around the block where it has them.
STYLES: dict[str, dict[str, str]] = {
    "plain": {"decoration": "# "},
    "erlang": {"decoration": "% "},
    "c": {"decoration": "// "},
    "cblock": {"beginning": "/*", "decoration": " * ", "end": " */"},
    "xml": {"beginning": "<!--", "decoration": " - ", "end": "-->"},
}


@pass_environment
def comment(environment: Environment, text: Any, style: str = "plain", **options: Any) -> str:
    """``text`` as a comment block in ``style``; ``decoration=``, ``prefix=``,
    ``prefix_count=``, ``postfix=``, ``postfix_count=``, ``beginning=``, ``end=`` and
    ``newline=`` override the style's parts, as in Ansible."""
    if style not in STYLES:
        raise TemplateError(
            f"comment: invalid style {style!r}", hint=f"available styles: {', '.join(STYLES)}"
        )
    chosen = STYLES[style]
    edge = str(options.get("decoration", chosen["decoration"])).rstrip()
    parts: dict[str, Any] = {
        "newline": "\n",
        "beginning": "",
        "prefix": edge,
        "prefix_count": 1,
        "decoration": "",
        "postfix": edge,
        "postfix_count": 1,
        "end": "",
        **chosen,
        **options,
    }
    newline, decoration = str(parts["newline"]), str(parts["decoration"])
    prefix_line = ""
    if parts["prefix"]:
        prefix_line = newline if parts["prefix"] == newline else f"{parts['prefix']}{newline}"
    postfix_line = newline + str(parts["postfix"])
    prefix_count, postfix_count = int(parts["prefix_count"]), int(parts["postfix_count"])
    # The counts repeat lines: bounded as any string a template builds, before building.
    limits: TemplateLimits = getattr(environment, "limits", TemplateLimits())
    size = len(prefix_line) * prefix_count + len(postfix_line) * postfix_count
    limits.check_string(size, "comment")
    beginning = f"{parts['beginning']}{newline}" if parts["beginning"] else ""
    body = decoration + str(text).replace(newline, newline + decoration)
    # A line holding only the decoration loses its trailing spaces.
    body = body.replace(decoration + newline, decoration.rstrip() + newline)
    prefix = prefix_line * prefix_count
    postfix = postfix_line * postfix_count
    end = f"{newline}{parts['end']}" if parts["end"] else ""
    return beginning + prefix + body + postfix + end

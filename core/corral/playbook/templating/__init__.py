"""Templating: the sandboxed Jinja2 environment, the Templar, and the undefined-variable checks."""

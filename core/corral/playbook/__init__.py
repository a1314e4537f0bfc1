"""Playbooks: YAML loading with marks, schema, model and templating."""

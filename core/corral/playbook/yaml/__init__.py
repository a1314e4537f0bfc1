"""One marked YAML reader for playbooks, variables files and inventories."""

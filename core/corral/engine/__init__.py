"""The engine: runs a loaded playbook against inventory hosts and reports events."""

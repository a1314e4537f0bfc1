"""Event writers: the Ansible-like console and JSON lines."""

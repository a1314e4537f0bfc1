"""Ansible roles: finding them (:mod:`.search`), reading their files (:mod:`.files`), and
turning a role reference into tasks and handlers (:mod:`.load`)."""

"""corral's built-in plugins, registered through the ``corral`` entry points like any other."""

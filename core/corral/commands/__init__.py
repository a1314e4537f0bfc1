"""The built-in subcommands of ``corral``, one module each; ``cli.py`` assembles them."""

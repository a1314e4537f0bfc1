"""The notify plugin (being written)."""

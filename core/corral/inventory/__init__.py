"""The fleet inventory: sources, host patterns and variable layering."""

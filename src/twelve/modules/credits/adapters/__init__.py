"""The credits module's tables and migrations."""

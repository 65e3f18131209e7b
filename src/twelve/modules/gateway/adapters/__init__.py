"""The gateway module's tables and migrations."""

"""The events module's tables and migrations."""

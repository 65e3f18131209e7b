"""Shared plumbing that knows no module: errors, databases, telemetry, HTTP client, settings."""

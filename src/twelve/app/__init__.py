"""The composition root: settings, bootstrap (wiring), the ASGI app and the CLI."""

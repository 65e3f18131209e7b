"""Completion: single-turn text completions (`/v1/completions`)."""

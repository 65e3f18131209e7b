"""Twelve: a self-hostable AI platform, a modular monolith of twelve modules."""

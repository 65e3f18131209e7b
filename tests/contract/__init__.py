"""Conformance: every protocol adapter, against the same fake upstream, passes the same cases."""

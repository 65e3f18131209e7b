"""Benchmarks of Twelve (not tests): `python -m bench.gateway` measures the gateway's overhead."""

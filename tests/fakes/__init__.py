"""Fakes for the outside world: `upstream.FakeUpstream`, a real HTTP fake of model providers.

Import from the submodule (`from tests.fakes.upstream import FakeUpstream`): importing it here
would make `python -m tests.fakes.upstream` warn that the module was imported twice.
"""

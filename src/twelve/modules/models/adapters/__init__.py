"""Provider adapters: how the models module reaches upstream model servers.

`providers/` says who an upstream is (base URL, auth, capabilities, protocol); `protocols/` says
how to speak to it (OpenAI wire format, Anthropic Messages); `transport.py` and
`upstream_errors.py` are the HTTP plumbing both protocols share; `instrumented.py` wraps any port
with tracing and metrics.
"""

"""Provider adapters: how the models module reaches upstream model servers.

`providers/` says who an upstream is (base URL, auth, capabilities, protocol); `protocols/` says
how to speak to it (OpenAI wire format, Anthropic Messages), dispatching on the `Operation`;
`transport.py`, `response_body.py`, `json_payload.py`, `upstream_errors.py` and
`upstream_failures.py` are the HTTP plumbing every protocol shares (limits, redirects, deadlines,
error mapping). `forwarding.py` and `instrumented.py` wrap the generic port once per deployment,
whatever its protocol.
"""

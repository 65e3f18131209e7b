"""Where and how to call one deployment: the resolved, secret-bearing side of a `DeploymentRef`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from twelve.modules.models.adapters.response_body import ACCEPT_ENCODING

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Everything a protocol adapter needs to call one upstream model.

    `headers` already hold authentication and the configured extra headers; `secrets` are the
    values that must never appear in an error message we pass on (the API key and every
    configured header value). `timeout` is the whole call when not streaming; a stream has
    `first_token_timeout` to its first data event and `idle_timeout` between two of them.
    """

    base_url: str
    upstream_model: str
    timeout: float
    headers: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    # Sent as the request's max tokens when the client set none, for protocols that require one.
    default_max_tokens: int | None = None
    deployment_id: str = "unnamed"
    provider: str = "unknown"
    first_token_timeout: float | None = None
    idle_timeout: float | None = None
    connect_timeout: float | None = None
    # Bytes after decompression, streamed or not.
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    # Prepared once from the fields above, not per call (`transport.py`'s hot path).
    call_timeout: aiohttp.ClientTimeout = field(init=False, repr=False, compare=False)
    stream_timeout: aiohttp.ClientTimeout = field(init=False, repr=False, compare=False)
    json_headers: Mapping[str, str] = field(init=False, repr=False, compare=False)
    sse_headers: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prepared = {
            "call_timeout": aiohttp.ClientTimeout(total=self.timeout, connect=self.connect_seconds),
            # A stream has no total limit: its deadlines are per event (`transport.py`).
            "stream_timeout": aiohttp.ClientTimeout(total=None, connect=self.connect_seconds),
            "json_headers": self._headers_accepting("application/json"),
            "sse_headers": self._headers_accepting("text/event-stream"),
        }
        for name, value in prepared.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

    def _headers_accepting(self, accept: str) -> dict[str, str]:
        common = {"Content-Type": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
        return {**common, "Accept": accept, **self.headers}

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    @property
    def label(self) -> str:
        """How error messages name this deployment: by id and provider, never by URL."""
        return f"Deployment `{self.deployment_id}` ({self.provider})"

    @property
    def first_token_seconds(self) -> float:
        return self.first_token_timeout or self.timeout

    @property
    def idle_seconds(self) -> float:
        return self.idle_timeout or self.timeout

    @property
    def connect_seconds(self) -> float:
        # Connecting never needs long: a dead host should fail over even when generation is slow.
        return self.connect_timeout or min(10.0, self.timeout)

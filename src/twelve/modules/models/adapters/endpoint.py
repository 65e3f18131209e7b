"""Where and how to call one deployment: the resolved, secret-bearing side of a `DeploymentRef`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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

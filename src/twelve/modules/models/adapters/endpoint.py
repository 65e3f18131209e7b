"""Where and how to call one deployment: the resolved, secret-bearing side of a `DeploymentRef`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Everything a protocol adapter needs to call one upstream model.

    `headers` already hold authentication and the configured extra headers; `secrets` are the
    values that must never appear in an error message we pass on (API keys, auth headers).
    `timeout` is the whole call when not streaming; when streaming it bounds connect + first
    byte, and then each gap between chunks.
    """

    base_url: str
    upstream_model: str
    timeout: float
    headers: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    # Sent as the request's max tokens when the client set none, for protocols that require one.
    default_max_tokens: int | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

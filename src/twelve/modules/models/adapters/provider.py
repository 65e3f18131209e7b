"""What a provider is: a name, a default base URL, auth, capabilities and the protocol it speaks.

A provider file (under `providers/`) is data, not code paths: adding an OpenAI-compatible server
is one more `Provider(...)` entry, never a branch on a provider's name in central code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from twelve.modules.models.api import Capability

AuthHeaders = Callable[[str | None], dict[str, str]]

# Every capability: what an OpenAI-wire server may serve (a model lists those it does).
ALL_CAPABILITIES: frozenset[Capability] = frozenset(get_args(Capability))
# OpenAI's own API: text, audio and image generation (not the sidecar's own endpoints).
OPENAI_CAPABILITIES: frozenset[Capability] = frozenset(
    {"chat", "completions", "embeddings", "transcription", "speech", "image_generation"}
)


def bearer_auth(api_key: str | None) -> dict[str, str]:
    """`Authorization: Bearer <key>`, or nothing for servers that run without a key."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    # A key of `protocols.PROTOCOLS`: which wire format this provider speaks.
    protocol: str
    capabilities: frozenset[Capability]
    default_base_url: str | None = None
    auth_headers: AuthHeaders = bearer_auth
    # Max tokens to send when the client sets none, for upstreams that require the field.
    default_max_tokens: int | None = None
    # The cheap call an active health check makes (GET, relative to the base URL); None: the
    # provider has none, and its deployments are not actively checked.
    health_path: str | None = "models"

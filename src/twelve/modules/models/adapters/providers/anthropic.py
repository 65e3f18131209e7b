"""Anthropic's Messages API: chat only, authenticated with `x-api-key` and a pinned API version.

The Messages API requires `max_tokens` where OpenAI does not, so requests without one get
`default_max_tokens`. https://docs.anthropic.com/en/api/messages
"""

from __future__ import annotations

from twelve.modules.models.adapters.provider import Provider

API_VERSION = "2023-06-01"


def anthropic_auth(api_key: str | None) -> dict[str, str]:
    headers = {"anthropic-version": API_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


ANTHROPIC = Provider(
    name="anthropic",
    protocol="anthropic",
    capabilities=frozenset({"chat"}),
    default_base_url="https://api.anthropic.com/v1",
    auth_headers=anthropic_auth,
    default_max_tokens=4096,
)

"""OpenAI itself: the reference for the wire format every other provider is translated to."""

from __future__ import annotations

from twelve.modules.models.adapters.provider import OPENAI_CAPABILITIES, Provider

OPENAI = Provider(
    name="openai",
    protocol="openai",
    capabilities=OPENAI_CAPABILITIES,
    default_base_url="https://api.openai.com/v1",
)

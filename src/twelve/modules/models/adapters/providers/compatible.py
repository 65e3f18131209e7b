"""Servers that speak the OpenAI wire format: each is a base URL and what it serves, nothing else.

Capabilities are what the server's OpenAI-compatible API offers (a server may still need to be
started with an embedding model for `embeddings` to work). `openai-compatible` is the catch-all
for anything else that speaks the format: it has no default base URL, so the config must give one.
"""

from __future__ import annotations

from twelve.modules.models.adapters.provider import ALL_CAPABILITIES, Provider
from twelve.modules.models.api import Capability

CHAT: frozenset[Capability] = frozenset({"chat"})
CHAT_COMPLETIONS: frozenset[Capability] = frozenset({"chat", "completions"})
CHAT_EMBEDDINGS: frozenset[Capability] = frozenset({"chat", "embeddings"})

# The local inference sidecar (`twelve sidecar`, DESIGN §6) listens here unless configured
# otherwise; keep in step with the sidecar's default port.
LOCAL_SIDECAR_URL = "http://127.0.0.1:8765/v1"
# llama.cpp's own default port, 8080, is Twelve's too: a deployment left on it would call Twelve
# itself. Run `llama-server --port 8081` (or set base_url).
LLAMACPP_URL = "http://127.0.0.1:8081/v1"


def _compatible(
    name: str,
    base_url: str | None,
    capabilities: frozenset[Capability],
    health_path: str | None = "models",
) -> Provider:
    return Provider(
        name=name,
        protocol="openai",
        capabilities=capabilities,
        default_base_url=base_url,
        health_path=health_path,
    )


COMPATIBLE = (
    _compatible("openai-compatible", None, ALL_CAPABILITIES),
    _compatible("local", LOCAL_SIDECAR_URL, ALL_CAPABILITIES),
    _compatible("vllm", "http://127.0.0.1:8000/v1", ALL_CAPABILITIES),
    _compatible("ollama", "http://127.0.0.1:11434/v1", ALL_CAPABILITIES),
    _compatible("llamacpp", LLAMACPP_URL, ALL_CAPABILITIES),
    _compatible("lmstudio", "http://127.0.0.1:1234/v1", ALL_CAPABILITIES),
    _compatible("together", "https://api.together.xyz/v1", ALL_CAPABILITIES),
    _compatible("fireworks", "https://api.fireworks.ai/inference/v1", ALL_CAPABILITIES),
    _compatible("deepinfra", "https://api.deepinfra.com/v1/openai", ALL_CAPABILITIES),
    _compatible("openrouter", "https://openrouter.ai/api/v1", CHAT_COMPLETIONS),
    _compatible("cerebras", "https://api.cerebras.ai/v1", CHAT_COMPLETIONS),
    _compatible("groq", "https://api.groq.com/openai/v1", CHAT),
    _compatible("mistral", "https://api.mistral.ai/v1", CHAT_EMBEDDINGS),
    _compatible("deepseek", "https://api.deepseek.com/v1", CHAT),
    _compatible("xai", "https://api.x.ai/v1", CHAT),
    # Perplexity lists no models (`GET /models` is a 404): nothing cheap to check.
    _compatible("perplexity", "https://api.perplexity.ai", CHAT, health_path=None),
    _compatible(
        "gemini", "https://generativelanguage.googleapis.com/v1beta/openai", CHAT_EMBEDDINGS
    ),
)

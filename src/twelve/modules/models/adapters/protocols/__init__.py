"""Wire protocols by name: how to build a provider port that speaks each one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.adapters.protocols.anthropic_messages import AnthropicMessages
from twelve.modules.models.adapters.protocols.openai_wire import OpenAIWire

PortFactory = Callable[[HttpClient, Endpoint], ProviderPort]

PROTOCOLS: Mapping[str, PortFactory] = MappingProxyType(
    {"openai": OpenAIWire, "anthropic": AnthropicMessages}
)

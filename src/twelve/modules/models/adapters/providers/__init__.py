"""The provider registry: every provider Twelve knows, by the name used in the config file."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from twelve.modules.models.adapters.provider import Provider
from twelve.modules.models.adapters.providers.anthropic import ANTHROPIC
from twelve.modules.models.adapters.providers.compatible import COMPATIBLE
from twelve.modules.models.adapters.providers.openai import OPENAI

PROVIDERS: Mapping[str, Provider] = MappingProxyType(
    {provider.name: provider for provider in (OPENAI, ANTHROPIC, *COMPATIBLE)}
)

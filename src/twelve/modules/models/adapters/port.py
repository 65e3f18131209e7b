"""The provider port: what every protocol adapter (and every wrapper around one) implements.

One port instance serves one deployment. Bodies in and out are OpenAI wire-format JSON objects;
`headers` are extra per-call headers (trace context) added to the upstream request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from twelve.modules.models.api import JSONObject


class ProviderPort(Protocol):
    async def chat(self, body: JSONObject, headers: Mapping[str, str]) -> JSONObject: ...

    def chat_stream(
        self, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]: ...

    async def completion(self, body: JSONObject, headers: Mapping[str, str]) -> JSONObject: ...

    def completion_stream(
        self, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]: ...

    async def embeddings(self, body: JSONObject, headers: Mapping[str, str]) -> JSONObject: ...

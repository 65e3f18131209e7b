"""The provider port: what every protocol adapter (and every wrapper around one) implements.

One port instance serves one deployment. It is generic: the `Operation` says what is asked
(chat, completions, embeddings, …); bodies in and out are OpenAI wire-format JSON objects;
`headers` are extra per-call headers (trace context) added to the upstream request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from twelve.modules.models.api import JSONObject, Operation


class ProviderPort(Protocol):
    async def call(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> JSONObject: ...

    def stream(
        self, operation: Operation, body: JSONObject, headers: Mapping[str, str]
    ) -> AsyncIterator[JSONObject]: ...

"""An in-process gateway in front of the real fake upstream, for the pipeline's tests.

`World` builds the real models registry and feature services on a `FakeUpstream` (a real HTTP
server on 127.0.0.1), a keys port that counts its lookups, and a `Gateway` with one extra
admission stage that records every settle call (what a credit hold or a slot would get back).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from twelve.kernel.http_client import HttpClient
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion.service import TextCompletions
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway.api import ApiKey, CreateApiKey, IssuedApiKey, Principal
from twelve.modules.gateway.endpoints import ENDPOINTS, Endpoint
from twelve.modules.gateway.exchange import Exchange, Outcome, Settle
from twelve.modules.gateway.routing import RetryPolicy
from twelve.modules.gateway.service import Gateway
from twelve.modules.models.api import JSONObject
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service

KEY = "tw-" + "k" * 43
LIMITED_KEY = "tw-" + "l" * 43
CHAT: Endpoint = next(e for e in ENDPOINTS if e.name == "chat_completions")

# Model name -> (upstream model id, timeout): the id picks the fake's behaviour.
MODELS = {
    "echo": ("gpt-echo", 10.0),
    "broken": ("fail-500", 10.0),
    "slow": ("slow-30000", 60.0),
    "cut": ("cut-2", 10.0),
    "stalling": ("stall-2", 60.0),
}


class CountingKeys:
    """Two keys: one for every model, one for `echo` only. Counts lookups."""

    def __init__(self) -> None:
        self.lookups = 0

    async def authenticate(self, key: str) -> Principal | None:
        self.lookups += 1
        if key == KEY:
            return Principal(key_id="k1", customer_id="c1", models=None)
        if key == LIMITED_KEY:
            return Principal(key_id="k2", customer_id="c1", models=frozenset({"echo"}))
        return None

    async def create_key(self, command: CreateApiKey) -> IssuedApiKey:
        raise NotImplementedError

    async def list_keys(self, customer_id: str | None = None) -> list[ApiKey]:
        raise NotImplementedError

    async def revoke_key(self, key_id: str) -> ApiKey:
        raise NotImplementedError


@dataclass
class Holds:
    """An admission stage that takes a hold and records what the finaliser gives back."""

    settled: list[tuple[Outcome | None, JSONObject | None]] = field(default_factory=list)

    async def admit(self, exchange: Exchange) -> Settle | None:
        async def settle(ended: Exchange) -> None:
            self.settled.append((ended.outcome, ended.usage))

        return settle


class World:
    def __init__(self, upstream_url: str) -> None:
        raw: dict[str, Any] = {
            "models": [
                {
                    "name": name,
                    "deployments": [
                        {
                            "provider": "openai",
                            "base_url": f"{upstream_url}/v1",
                            "api_key": "sk-test",
                            "model": upstream_model,
                            "timeout": timeout,
                        }
                    ],
                }
                for name, (upstream_model, timeout) in MODELS.items()
            ]
        }
        self.http = HttpClient()
        models = build_models_service(ModelsConfig.model_validate(raw), self.http)
        self.keys = CountingKeys()
        self.holds = Holds()
        self.gateway = Gateway(
            keys=self.keys,
            models=models,
            chat=ChatCompletions(models),
            completion=TextCompletions(models),
            embeddings=Embeddings(models),
            policy=RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0),
            admission=[self.holds],
        )
        self.left = asyncio.Event()  # set it to make the client "hang up"

    def exchange(self, body: JSONObject, *, key: str = KEY) -> Exchange:
        async def read(schema: type[BaseModel]) -> JSONObject:
            schema.model_validate(body)
            return body

        async def client_gone() -> None:
            await self.left.wait()

        return Exchange(CHAT, key, read, client_gone)

    async def close(self) -> None:
        await self.http.close()


def chat(model: str, *, stream: bool = False, **extra: Any) -> JSONObject:
    body: JSONObject = {"model": model, "messages": [{"role": "user", "content": "one two three"}]}
    if stream:
        body["stream"] = True
    return body | extra


async def drain(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]

"""An in-process gateway over models a test configures, in front of real fake upstreams.

The whole pipeline runs (authentication, routing with its breakers, strategies and fallbacks, the
models registry, the provider adapters, the pooled HTTP client); only the HTTP server in front of
the gateway is left out. What a client would see comes back as a `Reply`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from tests.modules.gateway.pipeline_world import CHAT, KEY, CountingKeys
from twelve.kernel.errors import TwelveError
from twelve.kernel.http_client import HttpClient
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.completion.service import TextCompletions
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.routing import RetryPolicy, Router, routing_headers
from twelve.modules.gateway.service import Gateway
from twelve.modules.models.api import JSONObject
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service


def deployment(upstream_url: str, upstream_model: str, **fields: Any) -> dict[str, Any]:
    return {
        "provider": "openai",
        "base_url": f"{upstream_url}/v1",
        "api_key": "sk-test",
        "model": upstream_model,
        "name": upstream_model,
        **fields,
    }


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: JSONObject

    @property
    def deployment(self) -> str:
        return self.headers.get("x-twelve-deployment", "")

    @property
    def attempts(self) -> int:
        return int(self.headers.get("x-twelve-attempts", "0"))


class RoutingWorld:
    def __init__(self, models: list[dict[str, Any]], *, retries: int = 1) -> None:
        self.http = HttpClient()
        registry = build_models_service(ModelsConfig.model_validate({"models": models}), self.http)
        self.registry = registry
        self.gateway = Gateway(
            keys=CountingKeys(),
            models=registry,
            chat=ChatCompletions(registry),
            completion=TextCompletions(registry),
            embeddings=Embeddings(registry),
            policy=RetryPolicy(retries=retries, backoff_seconds=0, backoff_max_seconds=0),
        )

    @property
    def router(self) -> Router:
        return self.gateway.pipeline.router

    async def ask(self, model: str, content: str = "one two three", **extra: Any) -> Reply:
        body: JSONObject = {"model": model, "messages": [{"role": "user", "content": content}]}
        body |= extra

        async def read(schema: type[BaseModel]) -> JSONObject:
            schema.model_validate(body)
            return body

        try:
            routed = await self.gateway.serve(Exchange(CHAT, KEY, read))
        except TwelveError as exc:
            return Reply(exc.status, exc.headers, exc.body())
        headers = routing_headers(routed.deployment, routed.attempts)
        assert isinstance(routed.result, dict)
        return Reply(200, headers, routed.result)

    async def ask_many(self, model: str, count: int, at_once: int = 10) -> list[Reply]:
        """`count` requests, `at_once` of them in flight all the time (a new one as one ends)."""
        slots = asyncio.Semaphore(at_once)

        async def one() -> Reply:
            async with slots:
                return await self.ask(model)

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def close(self) -> None:
        await self.http.close()

"""Fixtures for the conformance suite: one representative provider per protocol adapter.

The representative is the first registered provider speaking the protocol; OpenAI-compatible
providers differ only in configuration, which `tests/modules/models/test_providers.py` covers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.adapters.protocols import PROTOCOLS
from twelve.modules.models.adapters.provider import Provider
from twelve.modules.models.adapters.providers import PROVIDERS
from twelve.modules.models.config import DeploymentConfig
from twelve.modules.models.service import endpoint_for

API_KEY = "sk-contract-0123456789abcdef"
DEPLOYMENT_ID = "contract-deployment"

REPRESENTATIVES: dict[str, Provider] = {}
for _provider in PROVIDERS.values():
    REPRESENTATIVES.setdefault(_provider.protocol, _provider)
assert set(REPRESENTATIVES) == set(PROTOCOLS), "every protocol needs a provider to test it by"

Connect = Callable[..., ProviderPort]


@pytest.fixture(params=sorted(REPRESENTATIVES))
def provider(request: pytest.FixtureRequest) -> Provider:
    return REPRESENTATIVES[request.param]


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=API_KEY) as upstream:
        yield upstream


@pytest.fixture
def connect(provider: Provider, fake: FakeUpstream, http: HttpClient) -> Connect:
    """`connect(upstream_model, timeout=…, base_url=…, api_key=…, **deployment fields)`: a port
    to the fake (or to `base_url`)."""

    def make(
        model: str,
        *,
        timeout: float = 5.0,
        base_url: str | None = None,
        api_key: str = API_KEY,
        **fields: Any,
    ) -> ProviderPort:
        config = DeploymentConfig(
            provider=provider.name,
            base_url=base_url or f"{fake.base_url}/v1",
            api_key=api_key,
            model=model,
            timeout=timeout,
            **fields,
        )
        return PROTOCOLS[provider.protocol](http, endpoint_for(config, DEPLOYMENT_ID))

    return make

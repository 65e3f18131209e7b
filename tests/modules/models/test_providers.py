"""The provider registry: every provider is well-formed and reaches an upstream with its auth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.protocols import PROTOCOLS
from twelve.modules.models.adapters.providers import PROVIDERS
from twelve.modules.models.api import CHAT
from twelve.modules.models.config import DeploymentConfig
from twelve.modules.models.service import endpoint_for

KEY = "sk-provider-test-0123"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=KEY) as upstream:
        yield upstream


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_provider_is_well_formed(name: str) -> None:
    provider = PROVIDERS[name]

    assert provider.name == name
    assert provider.protocol in PROTOCOLS
    assert "chat" in provider.capabilities
    if provider.default_base_url is not None:
        assert provider.default_base_url.startswith(("http://", "https://"))
        assert not provider.default_base_url.endswith("/")


@pytest.mark.parametrize("name", sorted(PROVIDERS))
async def test_a_provider_reaches_its_upstream_with_its_auth(
    name: str, fake: FakeUpstream, http: HttpClient
) -> None:
    config = DeploymentConfig(
        provider=name,
        base_url=f"{fake.base_url}/v1",
        api_key=KEY,
        model="gpt-fake",
        headers={"X-Team": "blue"},
    )
    port = PROTOCOLS[PROVIDERS[name].protocol](http, endpoint_for(config))

    response = await port.call(CHAT, {"messages": [{"role": "user", "content": "ping"}]}, {})

    assert response["choices"][0]["message"]["content"] == "echo: ping"
    assert fake.requests[-1].headers["x-team"] == "blue"


def test_anthropic_sends_its_version_and_key_header() -> None:
    config = DeploymentConfig(provider="anthropic", api_key=KEY, model="claude")
    headers = endpoint_for(config).headers

    assert headers == {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


def test_keyless_servers_get_no_auth_header() -> None:
    config = DeploymentConfig(provider="ollama", model="llama3")
    endpoint = endpoint_for(config)

    assert endpoint.headers == {}
    assert endpoint.base_url == "http://127.0.0.1:11434/v1"


def test_every_configured_header_value_is_a_secret() -> None:
    config = DeploymentConfig(
        provider="openai",
        api_key=KEY,
        model="m",
        headers={"api-key": "azure-secret", "X-Team": "blue"},
    )
    assert endpoint_for(config).secrets == (KEY, "azure-secret", "blue")

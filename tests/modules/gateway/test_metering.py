"""What one ended request adds to the metrics: tokens (cached ones too) and cost by the model and
deployment that served it, and `other`/`none` for a request that reached no deployment."""

from __future__ import annotations

import secrets

from prometheus_client import REGISTRY

from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import ENDPOINTS
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.metering import record_cost, record_end, record_usage
from twelve.modules.models.api import DeploymentRef

CHAT = next(e for e in ENDPOINTS if e.name == "chat_completions")


def exchange(customer: str, deployment: DeploymentRef | None) -> Exchange:
    async def read(_schema: object) -> dict[str, object]:
        return {}

    made = Exchange(CHAT, token="", read_body=read)
    made.principal = Principal(key_id="key_1", customer_id=customer, models=None)
    made.deployment = deployment
    made.body = {"model": "whatever-the-client-said"}
    return made


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_tokens_and_cost_count_for_what_served_the_request() -> None:
    customer = f"cus_{secrets.token_hex(4)}"
    served = DeploymentRef(
        id="chat/openai/gpt-x",
        model="chat",
        provider="openai",
        upstream_model="gpt-x",
        base_url="http://127.0.0.1:9/v1",
    )
    ended = exchange(customer, served)
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 4,
        "prompt_tokens_details": {"cached_tokens": 6},
    }
    record_usage(ended, usage)
    ended.charged_micros = 1_500
    record_cost(ended)

    labels = {"model": "chat", "deployment": "chat/openai/gpt-x", "customer": customer}
    assert value("twelve_tokens_total", **labels, direction="in") == 10
    assert value("twelve_tokens_total", **labels, direction="out") == 4
    assert value("twelve_tokens_total", **labels, direction="cached") == 6
    assert value("twelve_cost_usd_total", **labels) == 0.0015


def test_a_request_no_deployment_served_is_labelled_other() -> None:
    before = value("twelve_request_seconds_count", model="other", deployment="none")
    record_end(exchange("cus_x", None))
    assert value("twelve_request_seconds_count", model="other", deployment="none") == before + 1
    assert (
        value("twelve_request_seconds_count", model="whatever-the-client-said", deployment="none")
        == 0
    )

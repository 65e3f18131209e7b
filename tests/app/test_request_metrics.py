"""The request metrics for a known sequence of requests, read back from `/metrics` as Prometheus
parses it: tokens and cost by model, deployment and customer; latency, time to first token,
tokens per second and overhead histograms; errors by kind; nothing left in flight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.corpus.stack import serving
from tests.app.observed import Samples, config, scrape, total
from tests.fakes.upstream import FakeUpstream

URL = "/v1/chat/completions"
# 3 input words; the fake answers "echo: one two three", 4 output words.
ASK = {"messages": [{"role": "user", "content": "one two three"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


async def test_a_known_sequence_of_requests_moves_each_metric_by_what_it_did(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with serving(upstream, tmp_path, config=config(upstream), credits=1.0) as stack:
        client, admin = stack.client, stack.admin
        broke = await client.post("/admin/v1/customers", json={"name": "broke"}, headers=admin)
        broke_key = await client.post(
            "/admin/v1/keys", json={"customer_id": broke.json()["id"]}, headers=admin
        )
        before = await scrape(client)

        answered = [await client.post(URL, json={**ASK, "model": "echo"}) for _ in range(2)]
        streamed = await client.post(URL, json={**ASK, "model": "echo", "stream": True})
        assert [r.status_code for r in [*answered, streamed]] == [200, 200, 200]
        deployment = answered[0].headers["x-twelve-deployment"]
        failures = {
            "auth": await client.post(
                URL, json={**ASK, "model": "echo"}, headers={"authorization": "Bearer nope"}
            ),
            "not_found": await client.post(URL, json={**ASK, "model": "no-such-model"}),
            "insufficient_quota": await client.post(
                URL,
                json={**ASK, "model": "echo"},
                headers={"authorization": f"Bearer {broke_key.json()['key']}"},
            ),
            "context_length": await client.post(URL, json={**ASK, "model": "too-long"}),
            "content_filter": await client.post(URL, json={**ASK, "model": "filtered"}),
            "rate_limit": await client.post(URL, json={**ASK, "model": "limited"}),
            "upstream_5xx": await client.post(URL, json={**ASK, "model": "broken"}),
            "timeout": await client.post(URL, json={**ASK, "model": "slow"}),
        }
        statuses = {kind: r.status_code for kind, r in failures.items()}
        assert statuses == {
            "auth": 401,
            "not_found": 404,
            "insufficient_quota": 402,
            "context_length": 400,
            "content_filter": 400,
            "rate_limit": 429,
            "upstream_5xx": 502,
            "timeout": 504,
        }
        after = await scrape(client)

    mine = {"model": "echo", "deployment": deployment, "customer": stack.customer_id}
    assert total(after, "twelve_tokens_total", **mine, direction="in") == 9
    assert total(after, "twelve_tokens_total", **mine, direction="out") == 12
    # 3 requests of 3 input tokens at 1 micro-dollar and 4 output tokens at 2.
    assert total(after, "twelve_cost_usd_total", **mine) == pytest.approx(33e-6)
    for kind in failures:
        assert delta(before, after, "twelve_errors_total", kind=kind) == 1, kind

    echo = {"model": "echo", "deployment": deployment}
    assert delta(before, after, "twelve_request_seconds_count", **echo) == 3
    # Refused before any deployment was chosen: a bad key, an unknown model, no credits.
    assert delta(before, after, "twelve_request_seconds_count", model="other") == 3
    assert delta(before, after, "twelve_time_to_first_token_seconds_count", **echo) == 1
    assert delta(before, after, "twelve_output_tokens_per_second_count", **echo) == 3
    assert delta(before, after, "twelve_upstream_seconds_count", **echo) == 3
    endpoint = {"endpoint": "chat_completions"}
    assert delta(before, after, "twelve_gateway_overhead_seconds_count", **endpoint) == 11
    overhead = delta(before, after, "twelve_gateway_overhead_seconds_sum", **endpoint)
    latency = delta(before, after, "twelve_request_seconds_sum")
    assert 0 < overhead < latency  # the timeouts' 0.4 s were upstream time, not overhead
    assert total(after, "twelve_requests_in_flight") == 0
    assert total(after, "twelve_queue_depth") == 0

"""What the observability tests run against: the app in process on a priced model, a few failing
ones (on the fake upstream's behaviours), and the Prometheus text parsed into samples."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.upstream import FakeUpstream

# Model name -> the fake upstream's model id (its behaviour: tests/fakes/upstream_behaviour.py).
MODELS = {
    "echo": "gpt-echo",
    "too-long": "fail-context",
    "filtered": "fail-filter",
    "limited": "fail-429",
    "broken": "fail-500",
    "slow": "slow-2000",
}
# Seconds each call may take (the default elsewhere): `slow` times out.
TIMEOUTS = {"slow": 0.2}


def config(upstream: FakeUpstream) -> str:
    """Every model in `MODELS` at $1 per million input tokens and $2 per million output tokens
    (1 and 2 micro-dollars a token)."""
    lines = ["models:"]
    for name, upstream_model in MODELS.items():
        lines += [
            f"  - name: {name}",
            "    deployments:",
            f"      - {{provider: openai, base_url: '{upstream.base_url}/v1', "
            f"model: {upstream_model}, timeout: {TIMEOUTS.get(name, 10)}, "
            "input_cost_per_mtok: 1, output_cost_per_mtok: 2}",
        ]
    return "\n".join(lines) + "\n"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample /metrics shows, by name and label set."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)

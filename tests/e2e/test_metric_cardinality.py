"""Label cardinality is bounded: 1,000 requests naming random models, random paths and made-up
methods leave the set of series `/metrics` shows exactly as it was."""

from __future__ import annotations

import secrets

import httpx
from prometheus_client.parser import text_string_to_metric_families

REQUESTS = 1000
# Methods the HTTP parser accepts (a made-up one it answers 400 itself) but Twelve serves none of.
ODD_METHODS = ("PROPFIND", "MKCOL", "PURGE", "SEARCH", "REPORT", "UNLOCK", "COPY", "MOVE")


def series(api: httpx.Client) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    text = api.get("/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items()))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def random_request(api: httpx.Client, n: int) -> httpx.Response:
    word = secrets.token_hex(6)
    match n % 4:
        case 0:
            body = {"model": f"model-{word}", "messages": [{"role": "user", "content": "hi"}]}
            return api.post("/v1/chat/completions", json=body)
        case 1:
            return api.get(f"/v1/{word}/{secrets.token_hex(3)}")
        case 2:
            return api.post(f"/{word}", json={"model": word})
        case _:
            return api.request(ODD_METHODS[n // 4 % len(ODD_METHODS)], f"/v1/models/{word}")


def test_random_models_paths_and_methods_add_no_series(api: httpx.Client) -> None:
    for n in range(4):  # one of each kind: their series exist from here on
        assert random_request(api, n).status_code >= 400
    series(api)  # and a scrape's own
    before = series(api)

    statuses = {random_request(api, n).status_code for n in range(REQUESTS)}

    assert statuses <= {400, 404, 405, 501}, statuses
    after = series(api)
    assert after - before == set(), sorted(after - before)[:10]
    assert before - after == set()

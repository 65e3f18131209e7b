"""Property: whatever body a client sends, the answer is a served response or an OpenAI-shaped
error with a 4xx status — never a 500, never a stack trace. Runs in process against the ASGI app,
with a real fake upstream behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.upstream import FakeUpstream
from tests.support.openai_spec import validate
from twelve.app.asgi import create_app
from twelve.app.settings import Settings

ADMIN = "adm-test-" + "0" * 32
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_scalars = st.none() | st.booleans() | int64 | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system", "assistant", "robot", ""]) | json_values},
        optional={"content": st.text(max_size=20) | json_values},
    ),
    max_size=3,
)
chat_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["echo", "nope", ""]) | json_values,
        "messages": messages | json_values,
        "stream": st.booleans() | json_values,
        "temperature": st.floats(allow_nan=False) | json_values,
        "max_tokens": int64 | json_values,
        "n": st.integers(-2, 3),
        "stream_options": st.fixed_dictionaries({}, optional={"include_usage": json_values}),
    },
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def gateway(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "twelve.yaml"
    config.write_text(
        "models:\n  - name: echo\n    deployments:\n"
        f"      - {{provider: openai, base_url: '{upstream.base_url}/v1', model: echo}}\n"
    )
    app = create_app(Settings(data_dir=tmp_path, config=config, admin_key=ADMIN))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            admin = {"authorization": f"Bearer {ADMIN}"}
            customer = await client.post("/admin/v1/customers", json={"name": "c"}, headers=admin)
            key = await client.post(
                "/admin/v1/keys", json={"customer_id": customer.json()["id"]}, headers=admin
            )
            client.headers["authorization"] = f"Bearer {key.json()['key']}"
            yield client


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert b"Traceback" not in response.content
    if response.status_code >= 400:
        body: Any = response.json()
        validate(body, "ErrorResponse")
        assert body["error"]["message"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=chat_bodies)
async def test_any_chat_body_gets_a_clean_answer(
    gateway: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    check(await gateway.post("/v1/chat/completions", content=orjson.dumps(body)))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.binary(max_size=64) | json_values.map(orjson.dumps))
async def test_any_bytes_get_a_clean_answer(gateway: httpx.AsyncClient, raw: bytes) -> None:
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        check(await gateway.post(path, content=raw))

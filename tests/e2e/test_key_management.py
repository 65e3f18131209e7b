"""Key management as a customer and an operator see it: `twelve serve`, the official `openai` SDK,
the admin API and the CLI. An expired key is a 401 `expired_api_key`; a rotated key's old secret
works for its grace and not after; a changed allow-list takes effect within the key cache's time
(also when the CLI, another process, changes it); lists page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai import OpenAI

from tests.e2e.server import TwelveServer, run_cli

HELLO = [{"role": "user", "content": "hello"}]
# The key cache answers for 1 s by default; a change must show within it (plus slack).
CACHE_SECONDS = 1.0


@pytest.fixture
def sdk(server: TwelveServer) -> Iterator[Callable[[str], OpenAI]]:
    made: list[OpenAI] = []

    def make(key: str) -> OpenAI:
        made.append(OpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0))
        return made[-1]

    yield make
    for client in made:
        client.close()


def new_key(admin: httpx.Client, customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    made = admin.post("/keys", json={"customer_id": customer["id"], **fields})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def chat(client: OpenAI, model: str = "echo") -> str:
    answer = client.chat.completions.create(model=model, messages=HELLO)  # type: ignore[arg-type]
    return answer.model


def refused(client: OpenAI, model: str = "echo") -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        chat(client, model)
    return caught.value


def eventually(check: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def expired_rejections(server: TwelveServer) -> float:
    text = httpx.get(f"{server.base_url}/metrics").text
    found = re.search(r'^twelve_rejections_total\{reason="expired"\} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_an_expired_key_is_a_401_expired_api_key(
    admin: httpx.Client,
    customer: dict[str, Any],
    sdk: Callable[[str], OpenAI],
    server: TwelveServer,
) -> None:
    made = new_key(admin, customer, expires_at=int(time.time()) + 2)
    client = sdk(made["key"])
    assert chat(client) == "echo"  # and its lookup is cached now
    before = expired_rejections(server)

    time.sleep(made["expires_at"] - time.time() + 0.1)
    error = refused(client)
    assert isinstance(error, openai.AuthenticationError) and error.status_code == 401
    assert error.code == "expired_api_key" and "expired at" in error.message
    body = error.body
    assert isinstance(body, dict) and body["type"] == "authentication_error"
    models = httpx.get(
        f"{server.base_url}/v1/models", headers={"Authorization": f"Bearer {made['key']}"}
    )
    assert models.status_code == 401 and models.json()["error"]["code"] == "expired_api_key"
    assert expired_rejections(server) >= before + 2


def test_a_rotated_key_keeps_its_old_secret_for_the_grace_only(
    admin: httpx.Client, customer: dict[str, Any], sdk: Callable[[str], OpenAI]
) -> None:
    made = new_key(admin, customer)
    old = sdk(made["key"])
    assert chat(old) == "echo"
    rotation = admin.post(f"/keys/{made['id']}/rotate", json={"grace_seconds": 2})
    assert rotation.status_code == 200, rotation.text
    rotated = rotation.json()
    new = sdk(rotated["key"])
    assert rotated["id"] == made["id"]
    assert chat(old) == "echo" and chat(new) == "echo"

    time.sleep(rotated["previous_expires_at"] - time.time() + 0.1)
    error = refused(old)
    assert error.status_code == 401 and error.code == "invalid_api_key"
    assert chat(new) == "echo"


def test_a_grace_of_zero_and_a_revocation_end_secrets_at_once(
    admin: httpx.Client, customer: dict[str, Any], sdk: Callable[[str], OpenAI]
) -> None:
    made = new_key(admin, customer)
    first = sdk(made["key"])
    assert chat(first) == "echo"
    now = admin.post(f"/keys/{made['id']}/rotate", json={"grace_seconds": 0}).json()
    assert refused(first).status_code == 401
    second = sdk(now["key"])
    graced = admin.post(f"/keys/{made['id']}/rotate", json={"grace_seconds": 600}).json()
    third = sdk(graced["key"])
    assert chat(second) == "echo" and chat(third) == "echo"
    assert admin.delete(f"/keys/{made['id']}").status_code == 200
    assert refused(second).status_code == 401 and refused(third).status_code == 401


def test_a_patched_allow_list_takes_effect_within_the_key_cache_time(
    admin: httpx.Client, customer: dict[str, Any], sdk: Callable[[str], OpenAI]
) -> None:
    made = new_key(admin, customer, models=["echo"])
    client = sdk(made["key"])
    assert refused(client, "claude").code == "model_not_found"
    patched = admin.patch(f"/keys/{made['id']}", json={"models": ["echo", "claude"]})
    assert patched.status_code == 200, patched.text

    def claude_answers() -> bool:
        try:
            return chat(client, "claude") == "claude"
        except openai.NotFoundError:
            return False

    assert eventually(claude_answers, within=CACHE_SECONDS + 1)
    assert admin.patch(f"/keys/{made['id']}", json={"models": ["echo"]}).status_code == 200
    assert eventually(lambda: not claude_answers(), within=CACHE_SECONDS + 1)
    assert chat(client) == "echo"


def test_key_lists_page_to_the_end(admin: httpx.Client) -> None:
    owner = admin.post("/customers", json={"name": "e2e-paging"}).json()
    made = [new_key(admin, owner)["id"] for _ in range(5)]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"customer_id": "e2e-paging", "limit": 2}
        if after:
            params["after"] = after
        page = admin.get("/keys", params=params).json()
        pages += 1
        seen += [k["id"] for k in page["data"]]
        assert page["object"] == "list" and page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert pages == 3 and sorted(seen) == sorted(made) and len(seen) == 5


def test_the_cli_rotates_and_changes_keys_a_running_server_uses(
    admin: httpx.Client,
    customer: dict[str, Any],
    sdk: Callable[[str], OpenAI],
    server: TwelveServer,
) -> None:
    def cli(*args: str) -> Any:
        done = run_cli(*args, "--json", env=server.env)
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)

    made = cli("keys", "create", "--customer", customer["id"], "--model", "echo", "--rpm", "50")
    assert made["rpm"] == 50 and made["models"] == ["echo"]
    client = sdk(made["key"])
    assert chat(client) == "echo"

    rotated = cli("keys", "rotate", made["id"], "--grace", "600")
    assert rotated["id"] == made["id"] and rotated["key"] != made["key"]
    assert chat(client) == "echo" and chat(sdk(rotated["key"])) == "echo"

    changed = cli("keys", "update", made["id"], "--all-models", "--rpm", "none")
    assert changed["models"] is None and changed["rpm"] is None
    assert eventually(lambda: _answers(client, "claude"), within=CACHE_SECONDS + 1)
    assert cli("keys", "show", made["id"]) == changed

    listed = run_cli("keys", "list", "--customer", customer["id"], "--limit", "1", env=server.env)
    assert listed.returncode == 0, listed.stderr
    assert len(orjson.loads(listed.stdout)) == 1 and "--after key_" in listed.stderr


def test_the_cli_sets_and_clears_customer_limits(server: TwelveServer) -> None:
    def cli(*args: str) -> Any:
        done = run_cli(*args, "--json", env=server.env)
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)

    made = cli("customers", "create", "e2e-cli-limits", "--rpm", "100", "--max-concurrency", "2")
    assert (made["rpm"], made["tpm"], made["max_concurrency"]) == (100, None, 2)
    changed = cli("customers", "update", "e2e-cli-limits", "--rpm", "none", "--tpm", "9000")
    assert (changed["rpm"], changed["tpm"], changed["max_concurrency"]) == (None, 9000, 2)
    assert cli("customers", "show", made["id"]) == changed


def _answers(client: OpenAI, model: str) -> bool:
    try:
        return chat(client, model) == model
    except openai.NotFoundError:
        return False


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("keys", "update", "key_x", "--rpm", "lots"), "--rpm: expected a whole number"),
        (("keys", "update", "key_x"), "nothing to change"),
        (("keys", "update", "key_nope", "--rpm", "5"), "No such API key"),
        (("keys", "create", "--customer", "e2e-acme", "--expires-at", "soon"), "--expires-at"),
        (("keys", "create", "--customer", "e2e-acme", "--budget-period", "day"), "--budget"),
        (("keys", "rotate", "key_nope"), "No such API key"),
        (("keys", "list", "--after", "key_nope"), "after"),
        (("customers", "update", "e2e-acme", "--tpm", "-3"), "tpm"),
        (("customers", "update", "nobody-at-all", "--rpm", "3"), "No such customer"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_1(
    server: TwelveServer, customer: dict[str, Any], args: tuple[str, ...], words: str
) -> None:
    done = run_cli(*args, env=server.env)
    assert done.returncode == 1, done.stdout
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command", [("keys", "update"), ("keys", "rotate"), ("customers", "update")], ids=" ".join
)
def test_the_new_commands_have_help(server: TwelveServer, command: tuple[str, str]) -> None:
    done = run_cli(*command, "--help", env=server.env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: twelve {' '.join(command)}")
    assert "<str>" not in done.stdout and "<bool>" not in done.stdout

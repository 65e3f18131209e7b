"""`twelve credits ...` from a shell: top-ups once per idempotency key, balances and the ledger,
and bad amounts or unknown customers refused in one line with nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tests.e2e.server import run_cli


def cli(env: dict[str, str], *args: str) -> Any:
    done = run_cli(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def test_credits_add_show_and_ledger(tmp_path: Path) -> None:
    env = {"TWELVE_DATA_DIR": str(tmp_path / "data")}
    cli(env, "customers", "create", "acme")
    first = cli(
        env, "credits", "add", "acme", "5", "--reason", "invoice 7", "--idempotency-key", "k"
    )
    again = cli(
        env, "credits", "add", "acme", "5", "--reason", "invoice 7", "--idempotency-key", "k"
    )
    assert first == again and first["amount_micros"] == 5_000_000
    cli(env, "credits", "add", "acme", "0.25")

    for bad, says in [
        (["acme", "--", "-1"], "amount"),
        (["acme", "lots"], "amount"),
        (["nobody", "1"], "No such customer"),
        (["acme", "6", "--idempotency-key", "k"], "Idempotency-Key"),
    ]:
        refused = run_cli("credits", "add", *bad, env=env)
        assert refused.returncode == 1, refused
        assert says in refused.stderr and "Traceback" not in refused.stderr

    shown = cli(env, "credits", "show", "acme")
    assert (shown["balance"], shown["held"], shown["balance_micros"]) == (5.25, 0.0, 5_250_000)
    ledger = cli(env, "credits", "ledger", "acme")
    assert [e["amount_micros"] for e in ledger] == [250_000, 5_000_000]
    assert ledger[1]["reason"] == "invoice 7"

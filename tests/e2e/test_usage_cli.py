"""`twelve usage` from a shell: totals per day, model or key for a customer named by id or name,
as a table or as the admin API's JSON, and bad options refused in one line."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tests.e2e.server import run_cli

MARCH_1 = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()


def cli(env: dict[str, str], *args: str) -> Any:
    done = run_cli(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def test_usage_by_day_model_and_key(tmp_path: Path) -> None:
    env = {"TWELVE_DATA_DIR": str(tmp_path / "data")}
    acme = cli(env, "customers", "create", "acme")
    other = cli(env, "customers", "create", "other")
    rows = [
        ("r1", acme["id"], "key_1", "echo", 10, 5, 700, False, MARCH_1),
        ("r2", acme["id"], "key_2", "claude", 3, 4, 0, True, MARCH_1 + 86400),
        ("r3", other["id"], "key_9", "echo", 1, 1, 9, False, MARCH_1),
    ]
    with sqlite3.connect(tmp_path / "data" / "credits.db") as conn:  # as the gateway stores them
        conn.executemany(
            "INSERT INTO usage (request_id, customer_id, key_id, model, deployment, endpoint,"
            " outcome, input_tokens, output_tokens, cost_micros, unpriced, usage_unknown, at, day)"
            " VALUES (?, ?, ?, ?, '', 'chat_completions', 'ok', ?, ?, ?, ?, 0, ?, ?)",
            [(*r, datetime.fromtimestamp(r[-1], UTC).strftime("%Y-%m-%d")) for r in rows],
        )
    days = cli(env, "usage", "--customer", "acme")
    assert days["object"] == "list" and days["group_by"] == "day"
    assert [(d["group"], d["requests"], d["cost_micros"]) for d in days["data"]] == [
        ("2026-03-01", 1, 700),
        ("2026-03-02", 1, 0),
    ]
    models = cli(env, "usage", "--customer", acme["id"], "--by", "model")["data"]
    assert [(m["group"], m["unpriced_requests"]) for m in models] == [("echo", 0), ("claude", 1)]
    keys = cli(env, "usage", "--by", "key", "--from", "2026-03-01", "--to", "2026-03-01")["data"]
    assert sorted((k["group"], k["input_tokens"]) for k in keys) == [("key_1", 10), ("key_9", 1)]
    one = cli(env, "usage", "--key", "key_2", "--model", "claude", "--by", "customer")["data"]
    assert [(c["group"], c["output_tokens"]) for c in one] == [(acme["id"], 4)]

    for bad, says in [
        (["--by", "week"], "group_by"),
        (["--from", "2026-13-01"], "from"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "from"),
        (["--customer", "nobody"], "No such customer"),
    ]:
        refused = run_cli("usage", *bad, env=env)
        assert refused.returncode == 1, refused
        assert says in refused.stderr and "Traceback" not in refused.stderr

"""The workflow-runs table's pages on SQLite and PostgreSQL: a customer sees only its runs, an
operator sees every customer's with their customer and key ids, filtered by status, customer and
workflow name, newest first across pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.databases import module_database
from twelve.modules.jobs.workflow_rows import WorkflowRows


@pytest.fixture
async def rows(backend: str, tmp_path: Path) -> AsyncIterator[WorkflowRows]:
    async with module_database("jobs", backend, tmp_path) as db:
        yield WorkflowRows(db)


def run(run_id: str, created_at: int, customer: str = "cus_a", **values: Any) -> dict[str, Any]:
    return {
        "id": run_id, "name": "summarise", "customer_id": customer, "key_id": f"key_{customer}",
        "status": "succeeded", "partial": 0, "definition": "{}", "request": "{}",
        "steps": '[{"name": "s", "capability": "chat", "status": "succeeded", "attempts": 1}]',
        "created_at": created_at, **values,
    }  # fmt: skip


async def test_operators_page_every_customers_runs_filtered(rows: WorkflowRows) -> None:
    await rows.add(run("wf_1", 1001))
    await rows.add(run("wf_2", 1002, "cus_b", status="failed"))
    await rows.add(run("wf_3", 1003, name="translate"))
    await rows.add(run("wf_4", 1003, "cus_b"))  # same second as wf_3: ordered by id then

    every = await rows.owned_page(None, None, None, 10, None)
    assert [r.id for r in every.data] == ["wf_4", "wf_3", "wf_2", "wf_1"] and not every.has_more
    assert {(r.id, r.customer_id, r.key_id) for r in every.data} >= {("wf_2", "cus_b", "key_cus_b")}
    assert every.data[0].steps[0].status == "succeeded"

    first = await rows.owned_page(None, None, None, 2, None)
    rest = await rows.owned_page(None, None, None, 2, first.data[-1].id)
    assert [r.id for r in first.data] == ["wf_4", "wf_3"] and first.has_more
    assert [r.id for r in rest.data] == ["wf_2", "wf_1"] and not rest.has_more

    def ids(page: Any) -> list[str]:
        return [r.id for r in page.data]

    assert ids(await rows.owned_page("cus_b", None, None, 10, None)) == ["wf_4", "wf_2"]
    assert ids(await rows.owned_page(None, "failed", None, 10, None)) == ["wf_2"]
    assert ids(await rows.owned_page(None, None, "translate", 10, None)) == ["wf_3"]
    assert ids(await rows.owned_page("cus_a", "succeeded", "summarise", 10, None)) == ["wf_1"]
    assert ids(await rows.owned_page("cus_a", None, None, 10, "wf_4")) == []  # not theirs
    assert ids(await rows.owned_page(None, None, None, 10, "wf_missing")) == []


async def test_one_run_with_its_owner_and_a_customer_sees_only_its_own(rows: WorkflowRows) -> None:
    await rows.add(run("wf_1", 1001, "cus_b"))
    owned = await rows.get_owned("wf_1")
    assert owned is not None and (owned.customer_id, owned.key_id) == ("cus_b", "key_cus_b")
    assert owned.name == "summarise" and owned.object == "workflow"
    assert await rows.get_owned("wf_nope") is None
    assert await rows.get("wf_1", "cus_a") is None
    public = await rows.get("wf_1", "cus_b")
    assert public is not None and "customer_id" not in public.model_dump()

"""The workflows service: start a defined workflow on a request, read and list runs.

Starting checks what can be checked at once — the workflow exists, the request is an object, its
callback URL is allowed, its `file_id` is one of the customer's files — so a bad request is a 4xx
and nothing starts. The run then goes on the jobs queue as a DBOS workflow (`saga.py`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import orjson

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.modules.events.api import EventsService
from twelve.modules.jobs.api import (
    OwnedWorkflowPage,
    OwnedWorkflowRun,
    StepState,
    WorkflowPage,
    WorkflowRun,
    WorkflowStatus,
)
from twelve.modules.jobs.saga import run_saga
from twelve.modules.jobs.workflow_definitions import WorkflowDefinition
from twelve.modules.jobs.workflow_engine import WORKFLOW_QUEUE, WorkflowEngine
from twelve.modules.jobs.workflow_rows import WorkflowRows
from twelve.modules.storage.api import StorageService


class Workflows:
    def __init__(
        self,
        rows: WorkflowRows,
        engine: WorkflowEngine,
        definitions: dict[str, WorkflowDefinition],
        storage: StorageService | None,
        events: EventsService | None,
    ) -> None:
        self.rows = rows
        self._engine = engine
        self._definitions = definitions
        self._storage = storage
        self._events = events

    async def workflow_names(self) -> list[str]:
        return sorted(self._definitions)

    async def start_workflow(
        self,
        name: str,
        request: dict[str, Any],
        customer_id: str,
        key_id: str,
        traceparent: str | None = None,
    ) -> WorkflowRun:
        request = await self.check_request(name, request, customer_id)
        run_id = "wf_" + secrets.token_hex(12)
        return await self._start(run_id, name, request, customer_id, key_id, traceparent)

    async def check_request(
        self, name: str, request: dict[str, Any], customer_id: str
    ) -> dict[str, Any]:
        """The request with the workflow's defaults, once everything checkable now is right."""
        definition = self._definitions.get(name)
        if definition is None:
            known = ", ".join(sorted(self._definitions))
            raise NotFound(f"No workflow named {name!r}; defined here: {known}.", param="name")
        for field in definition.requires:
            if request.get(field) is None:
                raise InvalidRequest(f"The {name} workflow needs `{field}`.", param=field)
        request = {**definition.defaults, **request}
        budget = request.get("budget_usd")
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int | float) or not budget > 0
        ):
            raise InvalidRequest("budget_usd must be a positive number of USD.", param="budget_usd")
        callback = request.get("callback_url")
        if callback is not None:
            if not isinstance(callback, str) or self._events is None:
                raise InvalidRequest("callback_url must be a URL string.", param="callback_url")
            await self._events.check_callback(callback)
        await self._check_file(customer_id, request.get("file_id"))
        return request

    async def run_to_end(
        self,
        run_id: str,
        name: str,
        request: dict[str, Any],
        customer_id: str,
        key_id: str,
        traceparent: str | None,
    ) -> WorkflowRun:
        """Start run `run_id` unless it exists (a job's attempt run again), and wait for its end."""
        if await self.rows.row(run_id) is None:
            await self._start(run_id, name, request, customer_id, key_id, traceparent)
        while True:
            found = await self.rows.get(run_id)
            assert found is not None
            if found.status not in ("queued", "running"):
                return found
            await asyncio.sleep(0.2)

    async def _start(
        self,
        run_id: str,
        name: str,
        request: dict[str, Any],
        customer_id: str,
        key_id: str,
        traceparent: str | None,
    ) -> WorkflowRun:
        definition = self._definitions[name]
        callback = request.get("callback_url")
        steps = [
            StepState(name=s.name, capability=s.capability, status="pending")
            for s in definition.steps
        ]
        await self.rows.add(
            {
                "id": run_id,
                "name": name,
                "customer_id": customer_id,
                "key_id": key_id,
                "status": "queued",
                "partial": 0,
                "definition": definition.model_dump_json(),
                "request": orjson.dumps(request).decode(),
                "steps": orjson.dumps([s.model_dump(mode="json") for s in steps]).decode(),
                "callback_url": callback,
                "traceparent": traceparent,
                "created_at": int(time.time()),
            }
        )
        await self._engine.start(run_saga, run_id, "standard", run_id, queue=WORKFLOW_QUEUE)
        found = await self.rows.get(run_id)
        assert found is not None
        return found

    async def _check_file(self, customer_id: str, file_id: Any) -> None:
        if file_id is None:
            return
        if not isinstance(file_id, str) or len(file_id) > 64:
            raise InvalidRequest("file_id must be a file's id (file-…).", param="file_id")
        if self._storage is None or await self._storage.get_file(customer_id, file_id) is None:
            raise InvalidRequest(
                f"No such file: {file_id!r}.", param="file_id", code="file_not_found"
            )

    async def get_workflow(self, run_id: str, customer_id: str | None = None) -> WorkflowRun | None:
        return await self.rows.get(run_id, customer_id)

    async def list_workflows(
        self,
        customer_id: str | None = None,
        status: WorkflowStatus | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> WorkflowPage:
        _check_limit(limit)
        return await self.rows.page(customer_id, status, limit, after)

    async def get_owned_workflow(self, run_id: str) -> OwnedWorkflowRun | None:
        return await self.rows.get_owned(run_id)

    async def list_owned_workflows(
        self,
        customer_id: str | None = None,
        status: WorkflowStatus | None = None,
        name: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> OwnedWorkflowPage:
        _check_limit(limit)
        return await self.rows.owned_page(customer_id, status, name, limit, after)


def _check_limit(limit: int) -> None:
    # The routes check it too; this guards callers in other processes and the CLI alike.
    if not 1 <= limit <= 100:
        raise InvalidRequest("limit must be between 1 and 100.", param="limit")

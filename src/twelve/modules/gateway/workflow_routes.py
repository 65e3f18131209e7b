"""The public workflows API: `POST /v1/workflows/{name}` starts a defined workflow (202 with the
run), `GET /v1/workflows/{id}` shows a run and every step's state, `GET /v1/workflows` lists the
caller's runs. Another customer's run is a 404, like one that does not exist."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.json_body import read_json_object
from twelve.kernel.telemetry.tracing import inject
from twelve.kernel.text import has_control_characters
from twelve.modules.gateway.http import PREFIX, bearer
from twelve.modules.gateway.service import Gateway
from twelve.modules.jobs.api import WorkflowsService, WorkflowStatus

_MAX_ID = 64


def build_workflow_router(gateway: Gateway, workflows: WorkflowsService) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["workflows"])

    @router.post(
        "/workflows/{name}",
        status_code=202,
        description="Start a workflow (`document_analysis`, or one defined in the config file) "
        'on a JSON request, e.g. `{"file_id": "file-…", "callback_url": "https://…"}`.',
    )
    async def start_workflow(name: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        body = await read_json_object(request)
        headers: dict[str, str] = {}
        inject(headers)
        run = await workflows.start_workflow(
            _checked(name), body, caller.customer_id, caller.key_id, headers.get("traceparent")
        )
        location = f"{PREFIX}/workflows/{run.id}"
        shown = run.model_dump(mode="json") | {"url": location}
        return _json(shown, 202, {"location": location})

    @router.get("/workflows", description="The caller's workflow runs, newest first.")
    async def list_workflows(
        request: Request,
        status: WorkflowStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        after: Annotated[str | None, Query(max_length=_MAX_ID)] = None,
    ) -> Response:
        caller = await gateway.authenticate(bearer(request))
        if after is not None and has_control_characters(after):
            raise InvalidRequest("Invalid value for 'after'.", param="after")
        page = await workflows.list_workflows(caller.customer_id, status, limit, after)
        return _json(page.model_dump(mode="json"))

    @router.get("/workflows/{run_id}", description="A run: its status, steps and result.")
    async def get_workflow(run_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        run = await workflows.get_workflow(_checked(run_id), caller.customer_id)
        if run is None:
            raise NotFound(f"No such workflow run: {run_id[:_MAX_ID]!r}.", param="run_id")
        return _json(run.model_dump(mode="json"))

    return router


def _checked(value: str) -> str:
    if len(value) > _MAX_ID or has_control_characters(value):
        raise NotFound(f"No such workflow: {value[:_MAX_ID]!r}.")
    return value


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )

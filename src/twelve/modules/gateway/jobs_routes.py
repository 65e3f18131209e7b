"""The public jobs API (`/v1/jobs`): submit the task message, read, list and cancel jobs. The
caller's key names the customer; another customer's job is a 404, like one that does not exist.
Thin, like `http.py`: authenticate, check the request, call the jobs port, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.http_errors import from_validation_error
from twelve.kernel.json_body import read_json_object
from twelve.kernel.telemetry.tracing import inject
from twelve.kernel.text import has_control_characters
from twelve.modules.gateway.http import PREFIX, bearer
from twelve.modules.gateway.request_body import schema_of
from twelve.modules.gateway.service import Gateway
from twelve.modules.jobs.api import Job, JobsService, JobStatus, SubmitJob

_MAX_ID = 64


def build_jobs_router(gateway: Gateway, jobs: JobsService) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["jobs"])

    @router.post(
        "/jobs",
        status_code=202,
        openapi_extra=schema_of(SubmitJob),
        description="Queue a task (chat_completion, completion, embedding, …) to run later; "
        "202 with the job and its status URL.",
    )
    async def submit_job(request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        data = await read_json_object(request)
        try:
            command = SubmitJob.model_validate(data)
        except ValidationError as exc:
            raise from_validation_error(exc, data) from None
        headers: dict[str, str] = {}
        inject(headers)  # the submitting request's trace travels into the job
        job = await jobs.submit(
            command, caller.customer_id, caller.key_id, headers.get("traceparent")
        )
        location = f"{PREFIX}/jobs/{job.id}"
        return _json(_shown(job) | {"url": location}, 202, {"location": location})

    @router.get("/jobs", description="The caller's jobs, newest first.")
    async def list_jobs(
        request: Request,
        status: JobStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        after: Annotated[str | None, Query(max_length=_MAX_ID)] = None,
    ) -> Response:
        caller = await gateway.authenticate(bearer(request))
        if after is not None and has_control_characters(after):
            raise InvalidRequest("Invalid value for 'after'.", param="after")
        page = await jobs.list_jobs(caller.customer_id, status, limit, after)
        data = [_shown(j) for j in page.data]
        last = data[-1]["id"] if data else None
        return _json({"object": "list", "data": data, "has_more": page.has_more,
                      "first_id": data[0]["id"] if data else None, "last_id": last})  # fmt: skip

    @router.get("/jobs/{job_id}", description="A job: its status, attempts, result or error.")
    async def get_job(job_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        job = await jobs.get_job(_checked(job_id), caller.customer_id)
        if job is None:
            raise _no_such_job(job_id)
        return _json(_shown(job))

    @router.post("/jobs/{job_id}/cancel", description="Cancel a queued or running job.")
    async def cancel_job(job_id: str, request: Request) -> Response:
        caller = await gateway.authenticate(bearer(request))
        return _json(_shown(await jobs.cancel(_checked(job_id), caller.customer_id)))

    return router


def _checked(job_id: str) -> str:
    if len(job_id) > _MAX_ID or has_control_characters(job_id):
        raise _no_such_job(job_id)
    return job_id


def _no_such_job(job_id: str) -> NotFound:
    return NotFound(f"No such job: {job_id[:_MAX_ID]!r}.", param="job_id")


def _shown(job: Job) -> dict[str, Any]:
    return job.model_dump(mode="json")


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )

"""The gateway's side of jobs: a job's model calls go through the same pipeline as a request.

`prepare` checks a job before it is queued (the task's endpoint schema, the key's allow-list, the
model) and holds its worst-case cost under the job's id; `execute` runs one attempt as an exchange
whose principal is the submitting key, looked up by id (a key revoked since fails the job), and
whose credit stage only says what the attempt cost: the job's hold is settled once, at its end.
Rate limits, routing, breakers, the prompt cache and metering apply to every attempt as to any
request.
"""

from __future__ import annotations

import structlog
from pydantic import BaseModel, ValidationError

from twelve.kernel.errors import AuthenticationFailed, InvalidRequest, TwelveError
from twelve.kernel.http_errors import from_validation_error
from twelve.kernel.telemetry.tracing import continued, tracer
from twelve.modules.credits.api import HoldsService
from twelve.modules.gateway.api import Principal
from twelve.modules.gateway.endpoints import ENDPOINTS, Endpoint
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.keys import KeyRegistry
from twelve.modules.gateway.routing import Routed
from twelve.modules.gateway.service import Gateway
from twelve.modules.gateway.stages.allow_list import check_allowed
from twelve.modules.gateway.stages.credit_hold import CreditHold
from twelve.modules.gateway.streaming import OpenStream
from twelve.modules.jobs.api import (
    AttemptOutcome,
    ExecuteAttempt,
    JobError,
    Prepared,
    PrepareJob,
)
from twelve.modules.models.api import BINARY_OBJECT, JSONObject, file_part
from twelve.modules.storage.api import StorageService

_TRACER = tracer(__name__)

# The endpoint (by its route name in `endpoints.py`) each task type runs.
TASK_ENDPOINTS: dict[str, str] = {
    "chat_completion": "chat_completions",
    "completion": "completions",
    "embedding": "embeddings",
    "image_generation": "images_generations",
    "transcription": "audio_transcriptions",
    "speech": "audio_speech",
    # Workflow steps' operations.
    "ocr": "ocr",
    "image_analysis": "images_analyses",
    "classification": "classifications",
    "summarization": "summaries",
}
# Statuses of a failed attempt worth another one (limits, timeouts, upstream trouble).
_RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


def _endpoint(task_type: str) -> Endpoint:
    name = TASK_ENDPOINTS.get(task_type)
    for endpoint in ENDPOINTS:
        if endpoint.name == name:
            return endpoint
    raise InvalidRequest(
        f"Jobs of type {task_type!r} are not served by this deployment.", param="task_type"
    )


def _parameters(endpoint: Endpoint, parameters: JSONObject) -> JSONObject:
    try:
        endpoint.schema.model_validate(parameters)
    except ValidationError as exc:
        error = from_validation_error(exc, parameters)
        param = f"parameters.{error.param}" if error.param else "parameters"
        raise InvalidRequest(error.message, param=param) from None
    if parameters.get("stream") is True:
        raise InvalidRequest("A job cannot stream; leave `stream` out.", param="parameters.stream")
    return parameters


class GatewayJobs:
    def __init__(
        self,
        gateway: Gateway,
        keys: KeyRegistry,
        credit_hold: CreditHold,
        holds: HoldsService,
        storage: StorageService,
    ) -> None:
        self._gateway = gateway
        self._keys = keys
        self._credit_hold = credit_hold
        self._holds = holds
        self._storage = storage

    async def _upload(self, endpoint: Endpoint, customer_id: str, parameters: JSONObject,
                      *, content: bool) -> JSONObject:  # fmt: skip
        """An upload route's body for a job: a job cannot upload, so `file_id` names one of the
        customer's files, read into the form's `file` part (only its name and type at `prepare`:
        the bytes are read when the attempt runs)."""
        if not endpoint.form:
            return parameters
        file_id = parameters.get("file_id")
        if not isinstance(file_id, str):
            raise InvalidRequest(
                "This task needs `file_id`: upload the file with POST /v1/files first.",
                param="parameters.file_id",
            )
        stored = await self._storage.get_file(customer_id, file_id) if len(file_id) < 65 else None
        if stored is None:
            raise InvalidRequest(f"No such file: {file_id[:64]!r}.", param="parameters.file_id")
        data = b"" if not content else await self._bytes(customer_id, file_id)
        rest = {k: v for k, v in parameters.items() if k != "file_id"}
        return rest | {"file": file_part(data, stored.filename, stored.content_type)}

    async def _bytes(self, customer_id: str, file_id: str) -> bytes:
        found = await self._storage.read_file(customer_id, file_id)
        if found is None:
            raise InvalidRequest(f"The file {file_id!r} is gone.", param="parameters.file_id")
        return found.content

    async def _principal(self, key_id: str) -> Principal:
        principal = await self._keys.principal_of(key_id)
        if principal is None:
            raise AuthenticationFailed(
                "The API key that submitted this job is revoked or expired.",
                code="invalid_api_key",
            )
        return principal

    def _exchange(self, endpoint: Endpoint, principal: Principal, body: JSONObject) -> Exchange:
        async def read_body(_schema: type[BaseModel]) -> JSONObject:
            return body

        return Exchange(endpoint, "", read_body, principal=principal, body=body, prepaid=True)

    async def prepare(self, command: PrepareJob) -> Prepared:
        endpoint = _endpoint(command.task_type)
        upload = await self._upload(
            endpoint, command.customer_id, command.parameters, content=False
        )
        _parameters(endpoint, upload)
        body = command.parameters  # kept as given (a file by its id, not its bytes)
        principal = await self._principal(command.key_id)
        exchange = self._exchange(endpoint, principal, body)
        check_allowed(principal, exchange.model)
        hold_id = await self._credit_hold.reserve(exchange, command.job_id, command.hold_seconds)
        return Prepared(parameters=body, model=exchange.model or None, hold_id=hold_id)

    async def execute(self, command: ExecuteAttempt) -> AttemptOutcome:
        try:
            endpoint = _endpoint(command.task_type)
            principal = await self._principal(command.key_id)
            body = await self._upload(
                endpoint, command.customer_id, command.parameters, content=True
            )
        except TwelveError as exc:
            return AttemptOutcome(error=_error(exc))
        exchange = self._exchange(endpoint, principal, body)
        exchange.prepaid = command.prepaid
        exchange.cost_cap_micros = command.cost_cap_micros
        request_id = f"{command.job_id}:{command.attempt}"
        with (
            continued(command.traceparent),
            structlog.contextvars.bound_contextvars(request_id=request_id, job_id=command.job_id),
            _TRACER.start_as_current_span(
                "twelve.job.attempt",
                attributes={"twelve.job.id": command.job_id, "twelve.job.attempt": command.attempt},
            ),
        ):
            try:
                routed: Routed[JSONObject | OpenStream] = await self._gateway.serve(exchange)
            except TwelveError as exc:
                return AttemptOutcome(
                    error=_error(exc),
                    retryable=exc.status in _RETRYABLE,
                    cost_micros=exchange.charged_micros or 0,
                    cost_known=not exchange.cost_unknown,
                )
        result = routed.result
        if isinstance(result, OpenStream):  # pragma: no cover - `stream` is refused at submit
            raise RuntimeError("a job's attempt opened a stream")
        cost = {
            "cost_micros": exchange.charged_micros or 0,
            "cost_known": not exchange.cost_unknown,
        }
        if result.get("object") == BINARY_OBJECT:  # speech audio, a transcript as text
            return AttemptOutcome(result=_binary_meta(result), content_b64=result["data"], **cost)
        return AttemptOutcome(result=result, **cost)

    async def settle(self, hold_id: str, cost_micros: int | None) -> None:
        await self._holds.settle(hold_id, cost_micros)

    async def release(self, hold_id: str) -> None:
        await self._holds.release(hold_id)


def _binary_meta(answer: JSONObject) -> JSONObject:
    """What a job shows of a bytes answer: its type, size, usage and the file it was stored as
    (the bytes themselves are the job's result file)."""
    found = answer.get("headers")
    headers: JSONObject = found if isinstance(found, dict) else {}
    return {
        "object": "file_result",
        "content_type": answer.get("content_type"),
        "file_id": headers.get("x-twelve-file-id"),
        "usage": answer.get("usage"),
    }


def _error(exc: TwelveError) -> JobError:
    return JobError(message=exc.message, type=exc.type, code=exc.code, status=exc.status)

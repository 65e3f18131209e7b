"""Public surface of the jobs module: async tasks with priorities, retries and dead letters.

A job is the source article's task message (`task_id`, `task_type`, `priority`, `parameters`,
`callback_url`, `max_retries`, `timeout_seconds`, `created_at`) queued for a worker. Each job runs
as a durable workflow: a worker that dies mid-job is replaced and the job resumes; attempts that
fail are retried with exponential backoff; a job whose attempts run out is dead (an admin can
replay it). A job ends exactly once, in one terminal status; its result is inline when small and a
file in storage when large; its callback gets one webhook (one `webhook-id`, at least once).

The model calls a job makes run through the gateway's request pipeline under the submitting key
(its allow-list, limits, credits and routing), never around it. The gateway implements
`JobExecutor` for that, and the jobs module asks for it as a port: the module that owns the
pipeline is the one that runs it.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twelve.kernel.commands import command
from twelve.kernel.text import PrintableStr

__all__ = [
    "AttemptOutcome",
    "ExecuteAttempt",
    "Job",
    "JobError",
    "JobExecutor",
    "JobPage",
    "JobStatus",
    "JobsService",
    "OwnedWorkflowPage",
    "OwnedWorkflowRun",
    "PrepareJob",
    "Prepared",
    "Priority",
    "QueueDepth",
    "StartWorkflow",
    "StepState",
    "SubmitJob",
    "TaskType",
    "Worker",
    "WorkerList",
    "WorkflowPage",
    "WorkflowRun",
    "WorkflowStatus",
    "WorkflowsService",
]

TaskType = Literal[
    "chat_completion",
    "completion",
    "embedding",
    "image_generation",
    "transcription",
    "speech",
    "document_analysis",  # the built-in workflow, run as a job (its result: the run)
]
Priority = Literal["high", "standard", "low"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "dead", "cancelled"]


class SubmitJob(BaseModel):
    """The task message a client posts to `/v1/jobs` (unknown fields refused)."""

    model_config = ConfigDict(extra="forbid")

    task_id: PrintableStr | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Yours: a second submission with the same task_id returns the first job.",
    )
    task_type: TaskType
    priority: Priority = "standard"
    parameters: dict[str, Any] = Field(
        description="The request body the task's endpoint takes (model, messages, …)."
    )
    callback_url: PrintableStr | None = Field(default=None, min_length=1, max_length=2048)
    max_retries: int = Field(default=3, ge=0, le=20)
    timeout_seconds: float = Field(default=300, gt=0, le=3600, description="Per attempt.")
    created_at: int | None = Field(default=None, ge=0, description="Yours, kept as given.")


class JobError(BaseModel):
    model_config = ConfigDict(frozen=True)

    message: str
    type: str
    code: str | None = None
    status: int | None = None


class Job(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="`job_` followed by a random id.")
    object: Literal["job"] = "job"
    task_id: str | None
    task_type: TaskType
    priority: Priority
    status: JobStatus
    model: str | None = None
    attempts: int
    max_retries: int
    timeout_seconds: float
    callback_url: str | None = None
    created_at: int
    client_created_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    result: dict[str, Any] | None = None
    result_file_id: str | None = Field(
        default=None, description="Set when the result was too large to inline (Files API)."
    )
    last_error: JobError | None = None
    webhook_id: str | None = None
    cost_micros: int = Field(
        default=0, description="What its attempts cost, in micro-dollars (charged at its end)."
    )


class JobPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: Literal["list"] = "list"
    data: list[Job]
    has_more: bool


class QueueDepth(BaseModel):
    model_config = ConfigDict(frozen=True)

    high: int
    standard: int
    low: int
    running: int
    limit: int = Field(description="Past this many queued jobs, submissions get 429.")


class Worker(BaseModel):
    """A process that works the queue, as its heartbeats tell: `alive`; `silent` (not heard from
    for the takeover time: its jobs are being handed to the others); or `stopped` cleanly."""

    model_config = ConfigDict(frozen=True)

    name: str
    host: str
    pid: int
    started_at: int
    seen_at: float | None = Field(description="Its last heartbeat (Unix seconds); None: stopped.")
    state: Literal["alive", "silent", "stopped"]


class WorkerList(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: Literal["list"] = "list"
    data: list[Worker]


class PrepareJob(BaseModel):
    """What the executor checks before a job is queued, and what it holds credits for."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    key_id: str
    customer_id: str
    task_type: TaskType
    parameters: dict[str, Any]
    hold_seconds: float


class Prepared(BaseModel):
    model_config = ConfigDict(frozen=True)

    parameters: dict[str, Any] = Field(description="As the endpoint's schema read them.")
    model: str | None
    hold_id: str | None = Field(description="The credit hold taken for the job's worst case.")


class ExecuteAttempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: str
    attempt: int
    key_id: str
    customer_id: str
    # A job's task type, or a workflow step's operation (`ocr`, `summarization`, …).
    task_type: str
    parameters: dict[str, Any]
    traceparent: str | None = None
    # True for a job (its one hold pays); False for a workflow step, held and settled like any
    # request.
    prepaid: bool = True
    # A workflow run's budget left (micro-dollars): the step's worst case must fit in it, or the
    # step is refused (402 `budget_exceeded`) before any model is called. None: no budget.
    cost_cap_micros: int | None = None


class AttemptOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    result: dict[str, Any] | None = None
    # A bytes answer (speech audio): the bytes, base64; `result` then describes them.
    content_b64: str | None = None
    error: JobError | None = None
    retryable: bool = False
    cost_micros: int = Field(default=0, description="What the attempt's usage cost.")
    cost_known: bool = True


class JobExecutor(Protocol):
    """Runs a job's work through the request pipeline (implemented by the gateway)."""

    async def prepare(self, command: PrepareJob) -> Prepared:
        """Check the parameters against the task's endpoint and the key's allow-list, and hold
        the worst-case cost; `InvalidRequest`/`PermissionDenied`/`InsufficientQuota` refuse."""
        ...

    async def execute(self, command: ExecuteAttempt) -> AttemptOutcome:
        """One attempt; never raises for what the job's caller did wrong (that is an outcome)."""
        ...

    @command
    async def settle(self, hold_id: str, cost_micros: int | None) -> None:
        """Charge the job's hold once (None: charge it whole), releasing the rest."""
        ...

    @command
    async def release(self, hold_id: str) -> None: ...


class JobsService(Protocol):
    @command
    async def submit(self, command: SubmitJob, customer_id: str, key_id: str,
                     traceparent: str | None = None) -> Job:  # fmt: skip
        """Queue a job (or return the one queued under the customer's `task_id`); 429 past the
        queue's depth limit, 400 for bad input, nothing queued or held then."""
        ...

    async def get_job(self, job_id: str, customer_id: str | None = None) -> Job | None:
        """The job; None when it does not exist or belongs to another customer."""
        ...

    async def list_jobs(
        self,
        customer_id: str | None = None,
        status: JobStatus | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> JobPage:
        """Newest first; `after` is the last job id of the previous page."""
        ...

    @command
    async def cancel(self, job_id: str, customer_id: str | None = None) -> Job:
        """Cancel a queued or running job (a no-op on an ended one); `NotFound`."""
        ...

    @command
    async def retry(self, job_id: str) -> Job:
        """Replay a dead or failed job with a fresh attempt count and credit hold; `NotFound`,
        `Conflict` when it has not ended that way."""
        ...

    async def queue_depth(self) -> QueueDepth: ...

    async def workers(self) -> WorkerList:
        """The processes working the queue, by name, with their last heartbeat."""
        ...


WorkflowStatus = Literal["queued", "running", "succeeded", "failed", "compensated"]
StepStatus = Literal["pending", "running", "succeeded", "failed", "skipped", "compensated"]


class StartWorkflow(BaseModel):
    """The body of `POST /v1/workflows/{name}`: the request its steps refer to as `request.*`."""

    model_config = ConfigDict(extra="allow")

    callback_url: PrintableStr | None = Field(default=None, min_length=1, max_length=2048)


class StepState(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    capability: str
    status: StepStatus
    attempts: int = 0
    model: str | None = Field(default=None, description="The model that answered (or last tried).")
    deployment: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    output: Any = None
    error: JobError | None = None
    outcome: str | None = Field(
        default=None, description="How a failure was handled: default_used, partial, continued."
    )
    cost_micros: int = Field(default=0, description="What its model calls were charged.")


class WorkflowRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="`wf_` followed by a random id.")
    object: Literal["workflow"] = "workflow"
    name: str
    status: WorkflowStatus
    partial: bool = False
    steps: list[StepState]
    result: dict[str, Any] | None = None
    error: JobError | None = None
    created_at: int
    started_at: int | None = None
    finished_at: int | None = None
    callback_url: str | None = None


class WorkflowPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: Literal["list"] = "list"
    data: list[WorkflowRun]
    has_more: bool


class OwnedWorkflowRun(WorkflowRun):
    """A run with the customer and key it runs under: what an operator sees, never a customer."""

    customer_id: str
    key_id: str


class OwnedWorkflowPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: Literal["list"] = "list"
    data: list[OwnedWorkflowRun]
    has_more: bool


class WorkflowsService(Protocol):
    @command
    async def start_workflow(
        self,
        name: str,
        request: dict[str, Any],
        customer_id: str,
        key_id: str,
        traceparent: str | None = None,
    ) -> WorkflowRun:
        """Start the named workflow on `request`; `NotFound` for an unknown name, 400 for bad
        input (a missing file, a bad callback URL), nothing started then."""
        ...

    async def get_workflow(
        self, run_id: str, customer_id: str | None = None
    ) -> WorkflowRun | None: ...

    async def list_workflows(
        self,
        customer_id: str | None = None,
        status: WorkflowStatus | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> WorkflowPage: ...

    async def get_owned_workflow(self, run_id: str) -> OwnedWorkflowRun | None:
        """Any customer's run, with its customer and key ids; None when it does not exist."""
        ...

    async def list_owned_workflows(
        self,
        customer_id: str | None = None,
        status: WorkflowStatus | None = None,
        name: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> OwnedWorkflowPage:
        """Runs of every customer (or of `customer_id`), newest first; `after` is the last run id
        of the previous page. `InvalidRequest` for a `limit` outside 1..100."""
        ...

    async def workflow_names(self) -> list[str]: ...

"""The jobs module as the process wires it: its table, the DBOS engine, and the workflow's runner.

The executor (the gateway's pipeline) is asked for when the module starts, not when it is built:
the gateway asks for this module's port while it is being built, so asking back then would be a
cycle. In a serving process the engine launches (this process works the queue unless
`TWELVE_JOBS_WORKER=off`) and a reconciler keeps the queue-depth metric fresh.
"""

from __future__ import annotations

import socket
from typing import Any

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.events.api import EventsService
from twelve.modules.jobs import job_workflow, saga
from twelve.modules.jobs.adapters.http_call import HttpCall
from twelve.modules.jobs.api import JobExecutor, JobsService, WorkflowsService
from twelve.modules.jobs.job_rows import JobRows
from twelve.modules.jobs.job_runner import JobRunner
from twelve.modules.jobs.saga_runner import SagaRunner
from twelve.modules.jobs.service import Jobs
from twelve.modules.jobs.settings import JobsSettings
from twelve.modules.jobs.worker_rows import WorkerRows
from twelve.modules.jobs.worker_watch import WorkerWatch
from twelve.modules.jobs.workflow_definitions import load_workflows
from twelve.modules.jobs.workflow_engine import WorkflowEngine
from twelve.modules.jobs.workflow_rows import WorkflowRows
from twelve.modules.jobs.workflows_service import Workflows
from twelve.modules.storage.api import StorageService


class _LateExecutor:
    """The executor port, looked up on first use (after every module is built)."""

    def __init__(self, context: ModuleContext) -> None:
        self._context = context
        self._port: JobExecutor | None = None

    def __getattr__(self, name: str) -> Any:
        if self._port is None:
            self._port = self._context.port(JobExecutor)
        return getattr(self._port, name)


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(JobsSettings)
    rows = JobRows(context.database, context.outbox())
    # A serving process's in-process worker: stable across restarts of the same server.
    executor_id = settings.executor_id or f"serve-{socket.gethostname()}-{context.process.port}"
    engine = WorkflowEngine(settings, context.process.data_dir, executor_id)
    events: EventsService | None = context.optional_port(EventsService)
    storage: StorageService | None = context.optional_port(StorageService)
    executor: JobExecutor = _LateExecutor(context)
    runner = JobRunner(rows, settings, executor, storage, events)
    watch = WorkerWatch(WorkerRows(context.database), engine, settings)
    service = Jobs(rows, engine, runner, settings, events, watch)
    runs = WorkflowRows(context.database)
    http = HttpCall(settings.allow_networks, settings.http_max_response_bytes)
    context.on_stop(http.close)
    sagas = SagaRunner(runs, executor, storage, events, http)
    definitions = load_workflows(context.process.config)
    workflows = Workflows(runs, engine, definitions, storage, events)
    runner.workflows = workflows

    async def serve() -> None:
        job_workflow.install(runner)
        saga.install(sagas)
        await service.start_serving()
        sagas.loop = runner.loop

    async def stop() -> None:
        await service.stop()
        job_workflow.install(None)
        saga.install(None)

    context.on_serve(serve)
    context.on_stop(stop)
    return Built(services={JobsService: service, WorkflowsService: workflows})


MODULE = ModuleSpec(
    name="jobs",
    provides=(JobsService, WorkflowsService),
    migrations=migrations_of(__file__),
    settings=JobsSettings,
    build=build,
)

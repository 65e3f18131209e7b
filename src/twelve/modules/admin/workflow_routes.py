"""Admin routes for workflow runs, under the admin router (`/admin/v1`, the admin key): every
customer's runs, filtered and paged as the admin job routes are, and one run with every step's
state and the customer and key it runs under."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from twelve.kernel.errors import NotFound
from twelve.kernel.text import PrintableStr, has_control_characters
from twelve.modules.admin.service import Administration
from twelve.modules.jobs.api import (
    OwnedWorkflowPage,
    OwnedWorkflowRun,
    WorkflowsService,
    WorkflowStatus,
)

_MAX_ID = 64  # run ids and workflow names are at most this long (their columns)


def workflow_router(admin: Administration, workflows: WorkflowsService) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/workflows",
        description="Workflow runs of every customer, newest first; the next page is "
        "`?after=<last run id>`. `customer_id` may be the customer's id or name.",
    )
    async def list_workflows(
        status: WorkflowStatus | None = None,
        customer_id: Annotated[PrintableStr | None, Query(max_length=200)] = None,
        name: Annotated[
            PrintableStr | None, Query(max_length=_MAX_ID, description="The workflow's name.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        after: Annotated[PrintableStr | None, Query(max_length=_MAX_ID)] = None,
    ) -> OwnedWorkflowPage:
        # By id or name like every admin route; an unknown customer is a 404, not an empty page.
        owner = None if customer_id is None else (await admin.customer(customer_id, "customer_id"))
        return await workflows.list_owned_workflows(
            owner.id if owner else None, status, name, limit, after
        )

    @router.get(
        "/workflows/{run_id}",
        description="One run of any customer: its status, every step's state, its result, and "
        "the customer and key it runs under.",
    )
    async def get_workflow(run_id: str) -> OwnedWorkflowRun:
        # An id no run can have is looked up nowhere: the same 404 as a run that does not exist.
        found = None
        if len(run_id) <= _MAX_ID and not has_control_characters(run_id):
            found = await workflows.get_owned_workflow(run_id)
        if found is None:
            raise NotFound(f"No such workflow run: {run_id[:_MAX_ID]!r}.", param="run_id")
        return found

    return router

"""The admin module as the process wires it: administration over the customers, keys, models,
routing-state and events ports. Its routes are mounted by the app, which holds the admin key."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.modules.admin.service import Administration
from twelve.modules.credits.api import CustomersService, LedgerService, UsageService
from twelve.modules.events.api import EventsService
from twelve.modules.gateway.api import KeysService, RoutingStateService
from twelve.modules.jobs.api import JobsService, WorkflowsService
from twelve.modules.models.api import ModelsService


def build(context: ModuleContext) -> Built:
    admin = Administration(
        context.port(CustomersService),
        context.port(KeysService),
        context.port(ModelsService),
        context.port(LedgerService),
        context.port(UsageService),
        context.port(RoutingStateService),
        events=context.optional_port(EventsService),
        jobs=context.optional_port(JobsService),
        workflows=context.optional_port(WorkflowsService),
    )
    return Built(facts=[admin])


MODULE = ModuleSpec(name="admin", build=build)

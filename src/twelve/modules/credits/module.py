"""The credits module as the process wires it: customers, the ledger, holds and usage rows, on
its own database, and the sweeper that settles expired holds in serving processes."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.credits.api import (
    CustomersService,
    HoldsService,
    LedgerService,
    UsageService,
)
from twelve.modules.credits.service import CreditsService
from twelve.modules.credits.settings import CreditsSettings
from twelve.modules.credits.sweeper import Sweeper
from twelve.modules.credits.usage_book import UsageBook


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(CreditsSettings)
    service = CreditsService(context.database)
    sweeper = Sweeper(service, settings.sweep_interval_seconds)
    context.on_serve(sweeper.start)
    context.on_stop(service.close)
    context.on_stop(sweeper.stop)  # stop hooks run in reverse: the sweeper stops first
    return Built(
        services={
            CustomersService: service,
            LedgerService: service,
            HoldsService: service,
            UsageService: UsageBook(context.database),
        }
    )


MODULE = ModuleSpec(
    name="credits",
    provides=(CustomersService, LedgerService, HoldsService, UsageService),
    migrations=migrations_of(__file__),
    settings=CreditsSettings,
    build=build,
)

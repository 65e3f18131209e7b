"""The credits module as the process wires it: the customers port, on its own database."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.credits.api import CustomersService
from twelve.modules.credits.service import CreditsService


def build(context: ModuleContext) -> Built:
    return Built(services={CustomersService: CreditsService(context.database)})


MODULE = ModuleSpec(
    name="credits", provides=(CustomersService,), migrations=migrations_of(__file__), build=build
)

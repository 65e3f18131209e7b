"""The credits module's internal routes: its port, for modules served in other processes."""

from __future__ import annotations

from twelve.kernel.rpc import Endpoints
from twelve.modules.credits.api import CreateCustomer, CustomersService


def internal_endpoints(credits: CustomersService) -> Endpoints:
    return Endpoints(
        calls={
            "create_customer": lambda a: credits.create_customer(
                CreateCustomer.model_validate(a["command"])
            ),
            "get_customer": lambda a: credits.get_customer(a["customer_id"]),
            "find_customer": lambda a: credits.find_customer(a["name"]),
            "list_customers": lambda _a: credits.list_customers(),
        }
    )

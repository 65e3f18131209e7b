from __future__ import annotations

import pytest

from twelve.kernel.db import Database
from twelve.kernel.errors import Conflict
from twelve.modules.credits.api import CreateCustomer
from twelve.modules.credits.service import CreditsService


async def test_create_find_and_list_customers(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme"))
    globex = await credits.create_customer(CreateCustomer(name="globex"))

    assert acme.id.startswith("cus_") and acme.id != globex.id
    assert await credits.get_customer(acme.id) == acme
    assert await credits.find_customer("globex") == globex
    assert await credits.get_customer("cus_missing") is None
    assert {c.name for c in await credits.list_customers()} == {"acme", "globex"}


async def test_customer_names_are_unique(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    await credits.create_customer(CreateCustomer(name="acme"))
    with pytest.raises(Conflict) as raised:
        await credits.create_customer(CreateCustomer(name="acme"))
    assert raised.value.status == 409
    assert raised.value.param == "name"
    assert len(await credits.list_customers()) == 1


@pytest.mark.parametrize("name", ["", " padded", "x" * 201])
def test_bad_customer_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        CreateCustomer(name=name)

"""A customer's limits, on SQLite and PostgreSQL: set on create, changed by PATCH (only the fields
sent; null clears), and refused with nothing written when the change is not acceptable."""

from __future__ import annotations

import pytest

from twelve.kernel.db import Database
from twelve.kernel.errors import Conflict, InvalidRequest, NotFound
from twelve.kernel.quotas import Limits
from twelve.modules.credits.api import CreateCustomer, UpdateCustomer
from twelve.modules.credits.service import CreditsService


async def test_patch_changes_only_what_it_sends(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", rpm=10, max_concurrency=2))
    assert acme.limits == Limits(rpm=10, max_concurrency=2)

    changed = await credits.update_customer(
        acme.id, UpdateCustomer.model_validate({"rpm": None, "tpm": 500})
    )
    assert changed.limits == Limits(tpm=500, max_concurrency=2) and changed.name == "acme"
    assert await credits.get_customer(acme.id) == changed
    renamed = await credits.update_customer(acme.id, UpdateCustomer(name="acme-2"))
    assert renamed.name == "acme-2" and renamed.limits == changed.limits
    assert await credits.update_customer(acme.id, UpdateCustomer()) == renamed
    account = await credits.account(acme.id)
    assert account is not None and (account.rpm, account.tpm) == (None, 500)


async def test_refusals_write_nothing(credits_db: Database) -> None:
    credits = CreditsService(credits_db)
    acme = await credits.create_customer(CreateCustomer(name="acme", rpm=10))
    await credits.create_customer(CreateCustomer(name="globex"))
    with pytest.raises(Conflict) as taken:
        await credits.update_customer(acme.id, UpdateCustomer(name="globex", rpm=99))
    assert taken.value.param == "name"
    with pytest.raises(InvalidRequest) as unnamed:
        await credits.update_customer(acme.id, UpdateCustomer.model_validate({"name": None}))
    assert unnamed.value.param == "name"
    for missing in ("cus_nope", "cus_\x00"):
        with pytest.raises(NotFound):
            await credits.update_customer(missing, UpdateCustomer(rpm=1))
    assert await credits.get_customer(acme.id) == acme


@pytest.mark.parametrize("value", [0, -1, True, "5", 1.5, 2**40])
def test_limits_of_the_wrong_kind_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="rpm"):
        UpdateCustomer.model_validate({"rpm": value})

"""Deferred writes of the unit of work: queued rows reach the database before the next
read or the commit, vanish with a rollback, and fail the commit as a whole."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from tests.integration.kafka_helpers import effect_counts
from tests.integration.sample.repositories import effects
from tests.integration.sample.uow import SampleUow


async def test_a_deferred_write_is_seen_by_the_next_read(uow: Callable[..., SampleUow]) -> None:
    tenant = uuid4()
    async with uow(tenant) as u:
        for _ in range(3):
            await u.effects.record(uuid4(), tenant)
        seen = await u.session.scalar(select(func.count()).select_from(effects))
        assert seen == 3
        await u.commit()
    assert await effect_counts(uow, tenant) == (3, 3)


async def test_deferred_writes_die_with_a_rollback(uow: Callable[..., SampleUow]) -> None:
    tenant = uuid4()
    async with uow(tenant) as u:
        await u.effects.record(uuid4(), tenant)
        await u.rollback()
    async with uow(tenant) as u:
        await u.effects.record(uuid4(), tenant)  # left without commit: rolled back
    assert await effect_counts(uow, tenant) == (0, 0)


async def test_a_failing_deferred_write_fails_the_commit_and_writes_nothing(
    uow: Callable[..., SampleUow],
) -> None:
    tenant, other = uuid4(), uuid4()

    async def one_good_one_refused() -> None:
        async with uow(tenant) as u:
            await u.effects.record(uuid4(), tenant)
            u.session.defer(effects.insert(), {"event_id": uuid4(), "tenant_id": other})
            await u.commit()

    with pytest.raises(DBAPIError, match="row-level security"):
        await one_good_one_refused()
    assert await effect_counts(uow, tenant) == (0, 0)

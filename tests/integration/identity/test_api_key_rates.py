"""The API-key rate limit's SQL (GCRA in api_key_rates) against PostgreSQL: a burst of
the limit, then the wait to the next exchange; a long-idle key refills to its limit and
no further; a key without a limit writes nothing."""

from __future__ import annotations

import uuid

from tests.integration.identity.harness import Identity


async def _take(identity: Identity, key: uuid.UUID, limit: int | None) -> int | None:
    async with identity.deps.runtime.uow(None) as uow:
        wait = await identity.deps.limiter.take(uow, key, limit)
        await uow.commit()
    return wait


async def test_a_burst_of_the_limit_then_the_wait(identity: Identity) -> None:
    key = uuid.uuid4()
    assert [await _take(identity, key, 6) for _ in range(6)] == [None] * 6
    wait = await _take(identity, key, 6)
    assert wait is not None
    assert 1 <= wait <= 10
    assert await _take(identity, uuid.uuid4(), 6) is None  # one budget per key


async def test_an_idle_key_refills_to_its_limit_only(identity: Identity) -> None:
    key = uuid.uuid4()
    await _take(identity, key, 2)
    # an hour idle, without waiting an hour: the row's TAT moved back
    await identity.owner_sql(
        "UPDATE api_key_rates SET tat = tat - interval '1 hour' WHERE api_key_id = :k", k=key
    )
    got = [await _take(identity, key, 2) for _ in range(3)]
    assert got[:2] == [None, None]
    assert got[2] is not None
    assert 1 <= got[2] <= 30


async def test_a_key_without_a_limit_writes_nothing(identity: Identity) -> None:
    key = uuid.uuid4()
    assert all([await _take(identity, key, None) is None for _ in range(20)])
    rows = await identity.owner_sql(
        "SELECT count(*) FROM api_key_rates WHERE api_key_id = :k", k=key
    )
    assert rows[0][0] == 0

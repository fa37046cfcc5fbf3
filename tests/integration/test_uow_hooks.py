"""What a unit of work does once its transaction is committed: `on_commit` hooks run after
a successful commit only (never after a rollback or a failed commit; a failing hook is
logged, not raised), and `notify` sends a PostgreSQL notification with the commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from tests.integration.conftest import SampleDb
from tests.integration.kafka_helpers import effect_counts, eventually
from tests.integration.sample.repositories import effects
from tests.integration.sample.uow import SampleUow

pytestmark = pytest.mark.integration


async def test_hooks_run_after_the_commit_in_order_and_see_its_state(
    uow: Callable[..., SampleUow],
) -> None:
    tenant = uuid4()
    seen: list[tuple[str, tuple[int, int]]] = []

    async def count(name: str) -> None:
        seen.append((name, await effect_counts(uow, tenant)))

    async with uow(tenant) as u:
        await u.effects.record(uuid4(), tenant)
        u.on_commit(lambda: count("first"))
        u.on_commit(lambda: seen.append(("second", (-1, -1))))
        assert seen == []
        await u.commit()
        # a hook runs once: a later commit in the same block does not repeat it
        await u.commit()
    assert seen == [("first", (1, 1)), ("second", (-1, -1))]


async def test_no_hook_runs_after_a_rollback_or_a_failed_commit(
    uow: Callable[..., SampleUow],
) -> None:
    tenant, other = uuid4(), uuid4()
    ran: list[str] = []
    async with uow(tenant) as u:
        u.on_commit(lambda: ran.append("rolled back"))
        await u.rollback()
        await u.commit()  # the next transaction of the block carries nothing over
    async with uow(tenant) as u:
        u.on_commit(lambda: ran.append("left without commit"))

    async def refused_commit() -> None:
        async with uow(tenant) as u:
            u.on_commit(lambda: ran.append("failed commit"))
            u.session.defer(effects.insert(), {"event_id": uuid4(), "tenant_id": other})
            await u.commit()

    with pytest.raises(DBAPIError, match="row-level security"):
        await refused_commit()
    assert ran == []


async def test_a_failing_hook_is_logged_and_the_others_still_run(
    uow: Callable[..., SampleUow], caplog: pytest.LogCaptureFixture
) -> None:
    tenant = uuid4()
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("cache away")

    async with uow(tenant) as u:
        await u.effects.record(uuid4(), tenant)
        u.on_commit(broken)
        u.on_commit(lambda: ran.append("after"))
        with caplog.at_level(logging.ERROR, logger="agentsuite_kit.db.scoped"):
            await u.commit()
    assert ran == ["after"]
    assert await effect_counts(uow, tenant) == (1, 1)
    assert any("cache away" in (r.exc_text or "") for r in caplog.records), caplog.text


async def test_a_held_unit_of_work_runs_its_hooks_when_the_consumer_finishes(
    uow: Callable[..., SampleUow],
) -> None:
    tenant = uuid4()
    ran: list[str] = []
    async with uow(tenant, held=True) as u:
        u.on_commit(lambda: ran.append("done"))
        await u.commit()  # held: the consumer commits with its inbox claim
        assert ran == []
        await u.finish()
    assert ran == ["done"]


@pytest.fixture
async def heard(sample_db: SampleDb) -> AsyncIterator[list[str]]:
    """Payloads of `NOTIFY sample_hooks` seen by a plain asyncpg connection."""
    got: list[str] = []
    conn = await asyncpg.connect(sample_db.app_url.replace("postgresql+asyncpg", "postgresql"))
    await conn.add_listener("sample_hooks", lambda *args: got.append(args[-1]))
    yield got
    await conn.close()


async def test_a_notification_goes_out_with_the_commit_once_and_never_after_a_rollback(
    uow: Callable[..., SampleUow], heard: list[str]
) -> None:
    tenant = uuid4()
    async with uow(tenant) as u:
        u.notify("sample_hooks", "dropped")
        await u.rollback()
    async with uow(tenant) as u:
        u.notify("sample_hooks", "sent")
        u.notify("sample_hooks", "sent")
        await asyncio.sleep(0)
        assert heard == []  # queued, not sent before the commit
        await u.commit()
    # notifications arrive in commit order: the marker after "sent" bounds the wait
    async with uow(tenant) as u:
        u.notify("sample_hooks", "marker")
        await u.commit()

    async def marker_seen() -> bool:
        return "marker" in heard

    await eventually(marker_seen)
    assert heard == ["sent", "marker"]

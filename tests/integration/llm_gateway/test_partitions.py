"""Monthly partitions of `calls`: made ahead, dropped past retention, by the app role
through the SECURITY DEFINER function; the daily job and its startup run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_kit.db import make_engine
from agentsuite_kit.jobs import Job, State
from agentsuite_llm_gateway.handlers.traces import (
    PARTITIONS,
    PARTITIONS_CRON,
    ensure_partitions,
    jobs,
    schedule_partitions,
)
from agentsuite_llm_gateway.uow import GatewayUow
from tests.integration.llm_gateway.harness import Gateway, create_gateway_db

PARTS = (
    "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity AS rls, "
    "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies "
    "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'calls'::regclass ORDER BY c.relname"
)


def _month(dt: datetime) -> str:
    return f"calls__p{dt:%Y%m}"


@pytest.fixture
async def own_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    """A database of its own: moving the clock decades ahead drops every partition there."""
    db = await create_gateway_db(pg_admin_url, tmp_path_factory.mktemp("parts") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


async def _partitions(engine_url: str, base: datetime, ahead: int, keep: int) -> int:
    engine = make_engine(engine_url, pool_size=1)
    try:
        async with GatewayUow(engine, tenant_id=None) as uow:
            dropped = await uow.calls.partitions(ahead, keep, base=base)
            await uow.commit()
    finally:
        await engine.dispose()
    return dropped


async def test_made_ahead_and_dropped_past_retention(
    own_db: ServiceDb, pg_admin_url: str, gateway: Gateway
) -> None:
    app_url = own_db.url(pg_admin_url)
    owner = make_engine(own_db.url(pg_admin_url, owner=True), pool_size=1)

    async def parts() -> list[tuple[str, bool, int]]:
        from sqlalchemy import text

        async with owner.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(PARTS))).all()]

    try:
        now = datetime.now(UTC)
        before = [p[0] for p in await parts()]
        assert _month(now) in before  # the migration made this month's

        dropped = await _partitions(app_url, datetime(2090, 6, 15, tzinfo=UTC), 2, 3)
        assert dropped == len(before)
        assert await parts() == [
            ("calls__p209006", True, 1),
            ("calls__p209007", True, 1),
            ("calls__p209008", True, 1),
        ]
        # idempotent, and keeps what is young enough
        assert await _partitions(app_url, datetime(2090, 9, 1, tzinfo=UTC), 2, 3) == 0
        assert [p[0] for p in await parts()] == [f"calls__p2090{m:02d}" for m in range(6, 12)]
        assert await _partitions(app_url, datetime(2090, 9, 1, tzinfo=UTC), 0, 1) == 2
        assert [p[0] for p in await parts()] == [f"calls__p2090{m:02d}" for m in range(8, 12)]
    finally:
        await owner.dispose()


async def test_startup_run_and_the_daily_job(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    ahead = datetime(now.year + (now.month + 1) // 12, (now.month + 1) % 12 + 1, 1, tzinfo=UTC)
    await ensure_partitions(gateway.deps)
    names = [r.relname for r in await gateway.owner_sql(PARTS)]
    assert _month(now) in names
    assert _month(ahead) in names  # two months on

    job = Job(
        id=uuid.uuid4(),
        tenant_id=None,
        kind=PARTITIONS,
        key=PARTITIONS,
        payload={},
        run_at=now,
        cron=PARTITIONS_CRON,
        timezone="UTC",
        state=State.RUNNING,
        attempts=1,
        max_attempts=5,
        lease_owner=None,
        last_error=None,
        correlation_id=None,
    )
    async with gateway.deps.uow(None) as uow:
        await jobs(gateway.deps)[PARTITIONS](job, uow)
        await uow.commit()

    for _ in range(2):  # keyed: scheduling twice leaves one live cron
        async with gateway.deps.uow(None) as uow:
            await schedule_partitions(uow)
            await uow.commit()
    rows = await gateway.owner_sql(
        "SELECT tenant_id, cron FROM jobs WHERE kind = :k AND key = :k", k=PARTITIONS
    )
    assert [(r.tenant_id, r.cron) for r in rows] == [(None, PARTITIONS_CRON)]

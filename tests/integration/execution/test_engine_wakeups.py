"""The engine's wake-ups survive the loss of its LISTEN connection: with polling all but
off, a run started after the listener's backend was terminated still runs, because the
kit's listener connects again and hears the next `NOTIFY execution_ready`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from tests.integration.execution.engine_support import approve, run_plan, wait_for
from tests.integration.execution.harness import (
    Execution,
    create_execution_db,
    make_settings,
    running,
)
from tests.integration.kafka_helpers import eventually

pytestmark = pytest.mark.integration

# the claim loop's poll: far beyond any deadline below, so only a notification wakes it
NEVER = 3600.0


@pytest.fixture
async def own_db(pg_admin_url: str, tmp_path: Path) -> AsyncIterator[ServiceDb]:
    """A database of its own: no other test's engine may claim (and so run) its steps."""
    db = await create_execution_db(pg_admin_url, tmp_path / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


@pytest.fixture
async def quiet_engine(
    own_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> AsyncIterator[Execution]:
    settings = make_settings(
        own_db.url(pg_admin_url), kafka_bootstrap, workers=2, poll_interval=NEVER
    )
    async with running(settings, own_db, pg_admin_url) as started:
        yield started


def echo() -> PlanStep:
    return PlanStep(
        key="only",
        name="only",
        kind=StepKind.TOOL,
        tool=ToolStep(tool="builtin.echo", input={"n": 1}),
    )


async def listeners(admin: asyncpg.Connection, db: ServiceDb) -> set[int]:
    """Backends of `db` whose last statement was a LISTEN: the engine's listener."""
    rows = await admin.fetch(
        # `_`: the quote asyncpg puts around the channel name
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN _execution%'",
        db.database,
    )
    return {int(r["pid"]) for r in rows}


async def test_wake_ups_arrive_after_the_listener_backend_is_terminated(
    quiet_engine: Execution, own_db: ServiceDb, pg_admin_url: str
) -> None:
    ex, tenant = quiet_engine, uuid4()
    plan = await approve(ex, tenant, [echo()])
    first = await run_plan(ex, tenant, plan)
    assert (await wait_for(ex, tenant, first, within=60.0)).status == "completed"

    admin = await asyncpg.connect(pg_admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        killed = await listeners(admin, own_db)
        assert killed, "the engine has no LISTEN connection"
        for pid in killed:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)

        async def listening_again() -> bool:
            return bool(await listeners(admin, own_db) - killed)

        await eventually(listening_again, within=60.0)
    finally:
        await admin.close()

    second = await run_plan(ex, tenant, plan)
    assert (await wait_for(ex, tenant, second, within=60.0)).status == "completed"

"""planning's migrated database: every tenant table under RLS, and no drift between the
migrations and the models (`repositories/tables.py`)."""

from __future__ import annotations

import asyncio

from agentsuite_kit.db import make_engine
from agentsuite_kit.db.migrate import check
from agentsuite_kit.db.rlscheck import tables_without_rls
from agentsuite_planning.app import spec
from tests.integration.planning.harness import Service


async def test_every_tenant_table_is_under_rls(service: Service) -> None:
    engine = make_engine(service.owner_url(), pool_size=1)
    try:
        async with engine.connect() as conn:
            assert await tables_without_rls(conn) == []
    finally:
        await engine.dispose()


async def test_the_models_match_the_migrations(service: Service) -> None:
    await asyncio.to_thread(check, spec.migrations, service.owner_url())

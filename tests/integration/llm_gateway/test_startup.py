"""The gateway starts on its migrated database: ready, schema without drift, RLS everywhere."""

from __future__ import annotations

import asyncio

from agentsuite_cli.provision import ServiceDb
from agentsuite_kit.db.migrate import check
from agentsuite_llm_gateway.app import spec
from tests.integration.llm_gateway.harness import Gateway


async def test_ready(gateway: Gateway) -> None:
    response = await gateway.client.get("/readyz")
    assert response.status_code == 200, response.text


async def test_no_drift(gateway_db: ServiceDb, pg_admin_url: str) -> None:
    await asyncio.to_thread(check, spec.migrations, gateway_db.url(pg_admin_url, owner=True))


async def test_every_table_and_partition_under_rls(gateway: Gateway) -> None:
    rows = await gateway.owner_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
        "AND NOT (c.relrowsecurity AND c.relforcerowsecurity) "
        "AND c.relname NOT IN ('alembic_version', 'outbox', 'inbox', 'jobs', "
        "'idempotency_keys', 'consumer_progress')"
    )
    assert [r[0] for r in rows] == []

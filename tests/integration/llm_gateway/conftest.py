"""One gateway database and one running gateway per session (tests make their own tenants:
a fresh `uuid4()` is a tenant as far as the gateway cares)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.llm_gateway.harness import (
    Gateway,
    create_gateway_db,
    make_settings,
    running,
)


@pytest.fixture(scope="session")
async def gateway_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_gateway_db(pg_admin_url, tmp_path_factory.mktemp("gwsecrets") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


@pytest.fixture(scope="session")
async def gateway(
    gateway_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> AsyncIterator[Gateway]:
    """The gateway, started once for the session."""
    settings = make_settings(gateway_db.url(pg_admin_url), kafka_bootstrap)
    async with running(settings, gateway_db, pg_admin_url) as started:
        yield started

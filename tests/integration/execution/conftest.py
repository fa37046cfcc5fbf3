"""One execution database and one running execution (no engine workers) per session;
tests make their own tenants: a fresh `uuid4()` is a tenant as far as execution cares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision

# a second execution app with its engine running, for tests that run plans
from tests.integration.execution.engine_support import engine  # noqa: F401  # fixture by name
from tests.integration.execution.harness import (
    Execution,
    create_execution_db,
    make_settings,
    running,
)


@pytest.fixture(scope="session")
async def execution_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_execution_db(pg_admin_url, tmp_path_factory.mktemp("exsecrets") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


@pytest.fixture(scope="session")
async def execution(
    execution_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> AsyncIterator[Execution]:
    """execution, started once for the session, API and consumers only (`workers=0`)."""
    settings = make_settings(execution_db.url(pg_admin_url), kafka_bootstrap)
    async with running(settings, execution_db, pg_admin_url) as started:
        yield started

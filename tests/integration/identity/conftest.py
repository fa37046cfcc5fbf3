"""One identity database per session; one running identity app per module by default."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.identity.harness import (
    Identity,
    create_identity_db,
    make_settings,
    running,
)


@pytest.fixture(scope="session")
async def identity_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_identity_db(pg_admin_url, tmp_path_factory.mktemp("idsecrets") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


@pytest.fixture(scope="session")
async def identity(
    identity_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Identity]:
    """identity, started once for the session (tests make their own tenants)."""
    settings = make_settings(
        identity_db.url(pg_admin_url),
        kafka_bootstrap,
        bootstrap_dir=tmp_path_factory.mktemp("credentials"),
    )
    async with running(settings, identity_db, pg_admin_url) as started:
        yield started

"""identity starts on a migrated database: RLS guards every tenant table, the schema has
no drift, the first signing key exists and its own tokens verify at its routes."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from agentsuite_identity.repositories import metadata
from agentsuite_kit.db.migrate import check
from agentsuite_kit.db.rlscheck import tables_without_rls
from tests.integration.identity.harness import Identity


async def test_every_tenant_table_is_under_rls(identity: Identity) -> None:
    engine = create_async_engine(identity.db.url(identity.admin_url, owner=True))
    try:
        async with engine.connect() as conn:
            assert await tables_without_rls(conn) == []
    finally:
        await engine.dispose()


async def test_migrations_match_the_tables(identity: Identity) -> None:
    from agentsuite_identity.app import spec

    await asyncio.to_thread(check, spec.migrations, identity.db.url(identity.admin_url, owner=True))
    assert metadata.tables  # the metadata the drift check compares against


async def test_first_signing_key_is_published(identity: Identity) -> None:
    keys = (await identity.client.get("/.well-known/jwks.json")).json()["keys"]
    assert keys  # other tests rotate on the same database: the signer and retired ones
    assert all(k["alg"] == "Ed25519" and k["use"] == "sig" for k in keys)
    assert not [k for k in keys if "d" in k]  # public halves only


async def test_ready(identity: Identity) -> None:
    assert (await identity.client.get("/readyz")).status_code == 200

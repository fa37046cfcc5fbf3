"""Row-level security holds against hand-written SQL, and pooled connections do not leak."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from agentsuite_kit.db import make_engine, make_sessionmaker
from tests.integration.conftest import SampleDb
from tests.integration.sample.model import SampleUow


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _seed(uow: Callable[[UUID | None], SampleUow], tenant: UUID, body: str) -> None:
    async with uow(tenant) as u:
        await u.notes.add(uuid4(), tenant, body)
        await u.commit()


async def test_app_role_is_neither_owner_nor_bypassing(sample_db: SampleDb) -> None:
    conn = await asyncpg.connect(_plain(sample_db.app_url))
    try:
        row = await conn.fetchrow(
            "SELECT r.rolsuper, r.rolbypassrls, t.tableowner = current_user AS owns "
            "FROM pg_roles r, pg_tables t WHERE r.rolname = current_user AND t.tablename = 'notes'"
        )
        assert row is not None
        assert (row["rolsuper"], row["rolbypassrls"], row["owns"]) == (False, False, False)
        forced = await conn.fetchval(
            "SELECT relforcerowsecurity AND relrowsecurity FROM pg_class WHERE relname = 'notes'"
        )
        assert forced is True
    finally:
        await conn.close()


async def test_tenant_cannot_read_or_write_another_tenants_rows(
    uow: Callable[[UUID | None], SampleUow],
) -> None:
    a, b = uuid4(), uuid4()
    await _seed(uow, a, "a-secret")
    await _seed(uow, b, "b-note")

    async with uow(b) as u:
        assert await u.notes.all() == ["b-note"]
        raw = await u.session.execute(text("SELECT body, tenant_id FROM notes"))
        assert [(r.body, r.tenant_id) for r in raw] == [("b-note", b)]
        hit = await u.session.execute(
            text("SELECT count(*) FROM notes WHERE tenant_id = :a"), {"a": a}
        )
        assert hit.scalar_one() == 0
        updated = await u.session.execute(
            text("UPDATE notes SET body = 'pwned' WHERE tenant_id = :a"), {"a": a}
        )
        assert updated.rowcount == 0  # type: ignore[attr-defined]  # CursorResult has rowcount
        deleted = await u.session.execute(text("DELETE FROM notes WHERE body = 'a-secret'"))
        assert deleted.rowcount == 0  # type: ignore[attr-defined]  # CursorResult has rowcount
        await u.commit()

    with pytest.raises(DBAPIError, match="row-level security"):
        async with uow(b) as u:
            await u.session.execute(
                text("INSERT INTO notes (id, tenant_id, body) VALUES (:i, :a, 'forged')"),
                {"i": uuid4(), "a": a},
            )

    async with uow(a) as u:
        assert await u.notes.all() == ["a-secret"]

    async with uow(None) as u:
        assert await u.notes.all() == []


async def test_switching_tenant_in_sql_is_only_transaction_local(
    uow: Callable[[UUID | None], SampleUow],
) -> None:
    a = uuid4()
    await _seed(uow, a, "local-only")
    async with uow(None) as u:
        await u.session.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a)})
        assert await u.notes.all() == ["local-only"]
        await u.commit()
    async with uow(None) as u:
        assert await u.notes.all() == []


async def test_plain_set_does_not_leak_through_the_pool(
    sample_db: SampleDb, uow: Callable[[UUID | None], SampleUow]
) -> None:
    a = uuid4()
    await _seed(uow, a, "leak-bait")
    engine = make_engine(sample_db.app_url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as s:
            pid = await s.scalar(text("SELECT pg_backend_pid()"))
            await s.execute(text(f"SET app.tenant_id = '{a}'"))
            # a plain SET does apply while the connection is held: that is the hazard
            assert await s.scalar(text("SELECT count(*) FROM notes")) == 1
            await s.commit()
        async with sessions() as s:
            assert await s.scalar(text("SELECT pg_backend_pid()")) == pid  # same connection
            assert not await s.scalar(text("SELECT current_setting('app.tenant_id', true)"))
            assert await s.scalar(text("SELECT count(*) FROM notes")) == 0
    finally:
        await engine.dispose()


async def test_without_reset_a_plain_set_would_leak(sample_db: SampleDb) -> None:
    """The control: a bare connection keeps a plain SET across transactions."""
    conn = await asyncpg.connect(_plain(sample_db.app_url))
    try:
        await conn.execute("SET app.tenant_id = 'x'")
        async with conn.transaction():
            assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") == "x"
    finally:
        await conn.close()

"""Row-level security holds against hand-written SQL, binds the table owner, guards every
tenant table, and neither the tenant setting nor a connection outlives its transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from agentsuite_kit.db import make_engine, rls_statements
from agentsuite_kit.db.rlscheck import rls_gaps, tables_without_rls
from agentsuite_kit.db.tables import TENANT_TABLES
from tests.integration.conftest import SampleDb
from tests.integration.sample.uow import SampleUow


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
        # no DDL for the app role, and an owner that FORCE RLS binds (it cannot bypass)
        assert await conn.fetchval("SELECT has_schema_privilege('public', 'CREATE')") is False
        owner = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", sample_db.db.owner
        )
        assert owner is not None
        assert (owner["rolsuper"], owner["rolbypassrls"]) == (False, False)
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


async def test_a_leaked_plain_set_cannot_scope_a_unit_of_work(
    sample_db: SampleDb, uow: Callable[..., SampleUow]
) -> None:
    """Pooled connections are not reset on return (that cost three round trips per unit of
    work); what guards tenants is that every unit-of-work transaction sets both scope
    settings itself. A session-level SET someone left behind on the connection is
    overridden: the next unit of work on that very connection sees only its own tenant."""
    a, b = uuid4(), uuid4()
    await _seed(uow, a, "leak-bait")
    engine = make_engine(sample_db.app_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            await conn.execute(text(f"SET app.tenant_id = '{a}'"))
            await conn.execute(text("SET app.all_tenants = 'on'"))
            await conn.commit()
        async with SampleUow(engine, tenant_id=b) as u:
            assert await u.session.scalar(text("SELECT pg_backend_pid()")) == pid  # same one
            assert await u.notes.all() == []
        async with SampleUow(engine, tenant_id=None) as u:
            assert await u.notes.all() == []
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


async def test_tenant_setting_ends_with_its_transaction(sample_db: SampleDb) -> None:
    """On one connection, with no RESET ALL on return (a plain engine), the next transaction
    sees neither the tenant nor the crossing: `set_config(..., true)`, not session-level."""
    engine = create_async_engine(sample_db.app_url, pool_size=1, max_overflow=0)
    tenant = uuid4()
    try:
        async with SampleUow(engine, tenant_id=tenant, all_tenants=True) as u:
            pid = await u.session.scalar(text("SELECT pg_backend_pid()"))
            scoped = await u.session.execute(
                text(
                    "SELECT current_setting('app.tenant_id', true) AS t, "
                    "current_setting('app.all_tenants', true) AS a"
                )
            )
            assert tuple(scoped.one()) == (str(tenant), "on")
            await u.commit()
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == pid
            after = await conn.execute(
                text(
                    "SELECT current_setting('app.tenant_id', true) AS t, "
                    "current_setting('app.all_tenants', true) AS a"
                )
            )
            assert [v or "" for v in after.one()] == ["", ""]
    finally:
        await engine.dispose()


async def test_read_and_write_after_commit_in_the_same_block_are_scoped(
    uow: Callable[..., SampleUow],
) -> None:
    tenant = uuid4()
    async with uow(tenant) as u:
        await u.notes.add(uuid4(), tenant, "first")
        await u.commit()
        # a new transaction begins here; it must carry the tenant as the first did
        assert await u.notes.all() == ["first"]
        await u.notes.add(uuid4(), tenant, "second")
        await u.commit()
    async with uow(tenant) as u:
        assert await u.notes.all() == ["first", "second"]


async def _seed_every_table(uow: Callable[..., SampleUow], tenant: UUID) -> None:
    async with uow(tenant) as u:
        await u.notes.add(uuid4(), tenant, "owner-bait")
        await u.effects.record(uuid4(), tenant)
        await u.inbox.claim("owner-test", uuid4(), "sample.notes.v1", tenant)
        await u.session.execute(
            text(
                "INSERT INTO outbox (event_id, topic, key, type, tenant_id, value) "
                "VALUES (:e, 'sample.notes.v1', :k, 'sample.note.added', :t, '\\x7b7d')"
            ),
            {"e": uuid4(), "k": str(tenant), "t": tenant},
        )
        await u.session.execute(
            text(
                "INSERT INTO outbox_sequences (topic, key, tenant_id, seq) "
                "VALUES ('sample.notes.v1', :k, :t, 1)"
            ),
            {"k": str(tenant), "t": tenant},
        )
        await u.jobs.schedule("owner-test")
        await u.session.execute(
            text(
                "INSERT INTO idempotency_keys (tenant_id, subject, key, method, path, fingerprint) "
                "VALUES (:t, 'owner', :k, 'POST', '/v1/x', 'f')"
            ),
            {"k": str(uuid4()), "t": tenant},
        )
        await u.commit()


async def test_force_rls_binds_the_table_owner(
    sample_db: SampleDb, uow: Callable[..., SampleUow]
) -> None:
    a, b = uuid4(), uuid4()
    await _seed_every_table(uow, a)
    conn = await asyncpg.connect(_plain(sample_db.owner_url))
    tables = ("notes", "effects", *TENANT_TABLES)

    async def counts(tenant: str, crossing: str) -> dict[str, int]:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.tenant_id', $1, true), "
                "set_config('app.all_tenants', $2, true)",
                tenant,
                crossing,
            )
            return {
                t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE tenant_id = $1", a)
                for t in tables
            }

    try:
        owns = await conn.fetchval(
            "SELECT bool_and(tableowner = current_user) FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename = ANY($1::text[])",
            list(tables),
        )
        assert owns is True
        assert await counts(str(b), "") == dict.fromkeys(tables, 0)
        assert await counts("", "") == dict.fromkeys(tables, 0)
        # the control: the rows are there, the owner only sees them when it says so
        assert await counts("", "on") == dict.fromkeys(tables, 1)
    finally:
        await conn.close()


@pytest.fixture
async def owner_tx(sample_db: SampleDb) -> AsyncIterator[AsyncConnection]:
    """An owner connection in a transaction that is rolled back: DDL leaves no trace."""
    engine = create_async_engine(sample_db.owner_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            tx = await conn.begin()
            try:
                yield conn
            finally:
                await tx.rollback()
    finally:
        await engine.dispose()


async def test_every_tenant_table_of_the_migrated_sample_is_guarded(
    owner_tx: AsyncConnection,
) -> None:
    assert await tables_without_rls(owner_tx) == []


async def test_rls_check_names_each_unguarded_table_and_why(owner_tx: AsyncConnection) -> None:
    tenant = "tenant_id uuid"
    ddl: dict[str, list[str]] = {
        "bare": [],
        "enabled_only": ["ALTER TABLE enabled_only ENABLE ROW LEVEL SECURITY"],
        "unforced": rls_statements("unforced")[::2],
        "select_only": [
            *rls_statements("select_only")[:2],
            "CREATE POLICY p ON select_only FOR SELECT USING (tenant_id IS NOT NULL)",
        ],
        "open_policy": [
            *rls_statements("open_policy")[:2],
            "CREATE POLICY p ON open_policy USING (true)",
        ],
        "open_check": [
            *rls_statements("open_check")[:2],
            "CREATE POLICY p ON open_check USING (tenant_id IS NOT NULL) WITH CHECK (true)",
        ],
        "one_role": [
            *rls_statements("one_role")[:2],
            "CREATE POLICY p ON one_role TO CURRENT_USER USING (tenant_id IS NOT NULL)",
        ],
        "guarded": rls_statements("guarded"),
    }
    for table, statements in ddl.items():
        await owner_tx.execute(text(f"CREATE TABLE {table} (id int, {tenant})"))
        for statement in statements:
            await owner_tx.execute(text(statement))
    await owner_tx.execute(text("CREATE TABLE tenantless (id int)"))

    no_policy = "no policy for all commands and roles checking tenant_id"
    assert await rls_gaps(owner_tx) == {
        "bare": ["row level security not enabled", "row level security not forced", no_policy],
        "enabled_only": ["row level security not forced", no_policy],
        "unforced": ["row level security not forced"],
        "select_only": [no_policy],
        "open_policy": [no_policy],
        "open_check": [no_policy],
        "one_role": [no_policy],
    }
    assert await tables_without_rls(owner_tx) == [
        "bare",
        "enabled_only",
        "one_role",
        "open_check",
        "open_policy",
        "select_only",
        "unforced",
    ]


async def test_failed_tenant_scope_returns_the_connection_to_the_pool(
    sample_db: SampleDb,
) -> None:
    """A database error while scoping the transaction (here: a NUL byte PostgreSQL refuses
    in set_config's text) leaves no session holding a pooled connection."""

    class Poison:
        def __str__(self) -> str:
            return "\x00"

    engine = make_engine(sample_db.app_url, pool_size=1, max_overflow=0)
    poisoned: Any = Poison()
    try:
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool
        for _ in range(2):
            with pytest.raises(DBAPIError):
                async with SampleUow(engine, tenant_id=poisoned):
                    pass  # pragma: no cover  # the enter fails
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool
        # the one pooled connection serves the next unit of work
        async with SampleUow(engine, tenant_id=uuid4()) as u:
            assert await u.notes.all() == []
    finally:
        await engine.dispose()

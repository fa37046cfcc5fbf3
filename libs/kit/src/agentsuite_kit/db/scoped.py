"""A connection whose every transaction is scoped to one tenant: what a unit of work runs on.

Repositories call `execute`, `scalar` and `scalars` on it as on SQLAlchemy's connection.
Each transaction it begins, the first one and any begun after a `commit()` in the same
block, starts with `set_config(..., true)` for the tenant, so no statement ever runs
unscoped; `true` makes the setting die with the transaction, so it never leaks through
the pool. Core on an AsyncConnection, not the ORM Session: the services use no ORM
entities, and the Session layer halved the consumer's throughput in the bench.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Executable, text
from sqlalchemy.engine import Result, ScalarResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentsuite_kit.db.rls import ALL_TENANTS_SETTING, TENANT_SETTING

_SCOPE = text(
    f"SELECT set_config('{TENANT_SETTING}', :tenant, true), "
    f"set_config('{ALL_TENANTS_SETTING}', :all, true)"
)

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class ScopedConnection:
    """One pooled connection for the life of a unit of work, scoped per transaction."""

    def __init__(self, engine: AsyncEngine, tenant: UUID | None, *, all_tenants: bool) -> None:
        self.engine = engine
        # read by repositories that stamp the tenant on rows they insert
        self.info: dict[str, Any] = {"tenant": tenant, "all_tenants": all_tenants}
        self._scope = {"tenant": "" if tenant is None else str(tenant), "all": ""}
        if all_tenants:
            self._scope["all"] = "on"
        self._conn: AsyncConnection | None = None

    async def open(self) -> None:
        """Take a connection and begin the first scoped transaction."""
        self._conn = await self.engine.connect()
        try:
            await self._begin()
        except BaseException:
            await self.close()
            raise

    async def _begin(self) -> AsyncConnection:
        conn = self._connection()
        await conn.begin()
        await conn.execute(_SCOPE, self._scope)
        return conn

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._conn

    async def _ready(self) -> AsyncConnection:
        conn = self._connection()
        if not conn.in_transaction():
            return await self._begin()
        return conn

    async def execute(
        self, statement: Executable, parameters: Params = None
    ) -> Result[*tuple[Any, ...]]:
        conn = await self._ready()
        return await conn.execute(statement, parameters)

    async def scalar(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Any:
        conn = await self._ready()
        return await conn.scalar(statement, parameters)

    async def scalars(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> ScalarResult[Any]:
        conn = await self._ready()
        return await conn.scalars(statement, parameters)

    def in_transaction(self) -> bool:
        return self._conn is not None and self._conn.in_transaction()

    async def commit(self) -> None:
        if self.in_transaction():
            await self._connection().commit()

    async def rollback(self) -> None:
        if self.in_transaction():
            await self._connection().rollback()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()  # rolls back what is still open, returns it to the pool

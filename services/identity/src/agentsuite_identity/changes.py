"""Which tenants' authorization state this process knows to be current, without asking.

Every change that moves a tenant's decisions (roles, grants, policies, members, the
tenant's status) sends `NOTIFY identity_authz '<tenant>'` in its own transaction, which
PostgreSQL delivers to every listener when it commits. One connection per process LISTENs;
a tenant read from the database while it listened is *fresh* until a notification for it
arrives, and a warm `authorize` of a fresh tenant needs no database round trip at all.

Correctness never rests on the connection: while it is down (or before it is up), nothing
is fresh and every decision reads the tenant's status and version as before; a reconnect
forgets everything, since notifications sent meanwhile are lost. A read races a
notification safely: `ticket()` is taken before the read and `mark()` refuses it when a
notification (or a reconnect) came in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from uuid import UUID

import asyncpg

from agentsuite_identity.repositories.authz import CHANNEL

log = logging.getLogger(__name__)

Ticket = tuple[int, int]


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy's spelling) as asyncpg wants it."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Changes:
    def __init__(self, dsn: str, *, retry: float = 1.0) -> None:
        self._dsn = dsn
        self._retry = retry
        self._conn: Any = None
        self._epoch = 0  # bumped on every connect and loss: tickets from before are void
        self._generation: dict[UUID, int] = {}
        self._fresh: set[UUID] = set()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._lost.is_set()

    def fresh(self, tenant: UUID) -> bool:
        return tenant in self._fresh and self.listening

    def ticket(self, tenant: UUID) -> Ticket | None:
        """Take before reading the tenant's state; None while not listening."""
        if not self.listening:
            return None
        return self._epoch, self._generation.get(tenant, 0)

    def mark(self, tenant: UUID, ticket: Ticket | None) -> None:
        """The state read since `ticket` is current, unless something moved meanwhile."""
        if ticket is None or not self.listening:
            return
        if ticket == (self._epoch, self._generation.get(tenant, 0)):
            self._fresh.add(tenant)

    def forget(self, tenant: UUID) -> None:
        self._generation[tenant] = self._generation.get(tenant, 0) + 1
        self._fresh.discard(tenant)

    async def start(self) -> None:
        """Connect once (a failure is retried in the background) and keep listening."""
        await self._connect()
        self._task = asyncio.create_task(self._keep(), name="authz-changes")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            tenant = UUID(payload)
        except ValueError:
            self._fresh.clear()  # not ours to parse: trust nothing cached
            return
        self.forget(tenant)

    def _on_lost(self, conn: Any) -> None:
        self._lost.set()
        self._epoch += 1
        self._fresh.clear()

    async def _connect(self) -> bool:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5)
            await conn.add_listener(CHANNEL, self._on_notify)
            conn.add_termination_listener(self._on_lost)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("authz change listener not connected: %r", exc)
            return False
        self._epoch += 1
        self._fresh.clear()
        self._lost.clear()
        self._conn = conn
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._epoch += 1
        self._fresh.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _keep(self) -> None:
        while True:
            if self.listening:
                await self._lost.wait()
            await self._drop()
            await asyncio.sleep(self._retry)
            await self._connect()

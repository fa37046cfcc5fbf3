"""Which tenants' state this process knows to be current, without asking the database.

Every write that moves a tenant's cached state sends `NOTIFY <channel> '<tenant>'` in its own
transaction, which PostgreSQL delivers to every listener when it commits. One `Changes` per
process and channel LISTENs on one asyncpg connection. A cache takes a `ticket(tenant)`
before it reads the database and keeps it with what it read; the entry is current while
`valid(tenant, ticket)`, i.e. until a notification for that tenant arrives (it bumps the
tenant's generation) or the connection is made or lost (it bumps the epoch: notifications
sent while it was down are lost).

Correctness never rests on the connection: while it is down (or before it is up) no ticket
is issued and none is valid, so every cache reads the database as before. A cache that would
rather trust an entry for a while when the listener is down can compare `current(tenant)`
itself. A read racing a notification is safe: the ticket was taken before the read, and the
notification makes it invalid.

`Listener` is the connection part alone (any channels, a callback each, reconnects), for
processes that must hear notifications rather than keep tickets (execution's engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import asyncpg

log = logging.getLogger(__name__)

Ticket = tuple[int, int]
"""(epoch, generation) of one tenant when a read began."""

# every started listener of this process: a change committed here must not wait for its own
# notification to come back before this process's next request sees it
_HERE: weakref.WeakSet[Changes] = weakref.WeakSet()


def void_here(channel: str, tenant: UUID | None) -> None:
    """Void this process's tickets of `tenant` (all tenants if None) on `channel` at once.
    Called when a change is written and again from its `on_commit` hook (a read in between
    saw the state before the commit); its notification voids them once more."""
    for changes in list(_HERE):
        if changes.channel == channel:
            changes.void(tenant)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy's spelling) as asyncpg wants it."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


Notified = Callable[[Any, int, str, str], None]
"""An asyncpg notification callback: (connection, sender pid, channel, payload)."""


class Listener:
    """LISTEN on `channels` over one asyncpg connection, made again whenever it is lost.

    Notifications sent while it is down are lost: `on_connect` runs after every (re)connect,
    so a caller can catch up on what it may have missed (poll, drop caches)."""

    def __init__(
        self,
        dsn: str,
        channels: Mapping[str, Notified],
        *,
        retry: float = 1.0,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        """`dsn` in either spelling; `retry`: seconds between connection attempts."""
        self._dsn = asyncpg_dsn(dsn)
        self._channels = dict(channels)
        self._retry = retry
        self._on_connect = on_connect
        self._conn: Any = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._lost.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (None while there is none)."""
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def start(self) -> None:
        """Connect once (a failure is retried in the background) and keep listening."""
        await self._connect()
        name = f"{'+'.join(self._channels)}-listener"
        self._task = asyncio.create_task(self._keep(), name=name)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()

    def _connected(self) -> None:
        """Just (re)connected (subclasses extend)."""
        if self._on_connect is not None:
            self._on_connect()

    def _disconnected(self) -> None:
        """The connection was lost or dropped (subclasses extend)."""

    def _on_lost(self, conn: Any) -> None:
        self._lost.set()
        self._disconnected()

    async def _connect(self) -> bool:
        conn: Any = None
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5)
            for channel, callback in self._channels.items():
                await conn.add_listener(channel, callback)
            conn.add_termination_listener(self._on_lost)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("%s listener not connected: %r", ", ".join(self._channels), exc)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
            return False
        self._lost.clear()
        self._conn = conn
        self._connected()
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._disconnected()
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


class Changes(Listener):
    def __init__(
        self,
        dsn: str,
        channel: str,
        *,
        retry: float = 1.0,
        on_void: Callable[[UUID | None], None] | None = None,
    ) -> None:
        """`dsn` in either spelling; `on_void(tenant)` runs after every `void` (None: all
        tenants), e.g. to drop entries at once rather than on their next read."""
        super().__init__(dsn, {channel: self._on_notify}, retry=retry)
        self.channel = channel
        self._on_void = on_void
        self._epoch = 0  # bumped on every connect and loss: tickets from before are void
        self._generation: dict[UUID, int] = {}

    def current(self, tenant: UUID) -> Ticket:
        """The tenant's ticket now, listening or not."""
        return self._epoch, self._generation.get(tenant, 0)

    def ticket(self, tenant: UUID) -> Ticket | None:
        """Take before reading the tenant's state; None while not listening."""
        return self.current(tenant) if self.listening else None

    def valid(self, tenant: UUID, ticket: Ticket | None) -> bool:
        """Whether what was read under `ticket` is still the tenant's current state."""
        if ticket is None or not self.listening:
            return False
        return ticket == self.current(tenant)

    def void(self, tenant: UUID | None) -> None:
        """Every ticket of `tenant` (of every tenant if None) is no longer valid."""
        if tenant is None:
            self._epoch += 1
        else:
            self._generation[tenant] = self._generation.get(tenant, 0) + 1
        if self._on_void is not None:
            self._on_void(tenant)

    async def start(self) -> None:
        _HERE.add(self)
        await super().start()

    async def aclose(self) -> None:
        _HERE.discard(self)
        await super().aclose()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            tenant = UUID(payload)
        except ValueError:
            tenant = None  # not ours to parse: trust nothing cached
        self.void(tenant)

    def _connected(self) -> None:
        self._epoch += 1
        super()._connected()

    def _disconnected(self) -> None:
        self._epoch += 1
        super()._disconnected()

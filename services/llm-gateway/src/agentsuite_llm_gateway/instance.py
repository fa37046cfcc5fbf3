"""This process among the gateway's processes: its instance id, and which ids are alive.

Every process draws an instance id at start and, for as long as it lives, holds a
session-level advisory lock keyed by it on a connection of its own. PostgreSQL drops a
session's locks when the session ends, and a process that dies (even by SIGKILL) has its
socket closed by the kernel, so the lock goes with the process, within moments, whoever
is watching and whatever the lease. Claims and started traces carry the instance id; a
lock nobody holds says its claims are orphans (repositories/requests.py: `alive`).

If the held connection breaks while the process lives (a database restart), the lock is
taken again on the next `ensure`; meanwhile another process may answer this one's claims
"interrupted", and this one's late answer then finds them answered and says nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# the first key of every instance lock ("LLMG"): the two-key lock space, apart from the
# single-key one the requests' transaction locks use
NAMESPACE = 0x4C4C4D47
_TAKE = text("SELECT pg_advisory_lock(:ns, :key)")
_FREE = text("SELECT pg_advisory_unlock(:ns, :key)")


def lock_key(instance_id: UUID) -> int:
    """The second key of `instance_id`'s lock: its first 31 bits (an `oid` in pg_locks)."""
    return int.from_bytes(instance_id.bytes[:4], "big") & 0x7FFFFFFF


class Instance:
    def __init__(self, engine: Callable[[], AsyncEngine]) -> None:
        self.id = uuid4()
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._taking = asyncio.Lock()

    @property
    def key(self) -> int:
        return lock_key(self.id)

    async def ensure(self) -> None:
        """Hold this instance's lock (taken again if its connection was lost); raises
        when the database cannot be reached, so a claim is never made without it."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.invalidated:
            return
        async with self._taking:
            if self._conn is not None and not self._conn.closed and not self._conn.invalidated:
                return
            if self._conn is not None:
                await self._drop()
            conn = await self._engine().connect()
            try:
                await conn.execute(_TAKE, {"ns": NAMESPACE, "key": self.key})
                await conn.commit()  # a session lock outlives the transaction
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
            log.info("llm-gateway instance %s holds its liveness lock", self.id)

    async def check(self) -> None:
        """Ask the held connection whether it still lives (the sweep's minute), and take
        the lock again if it does not."""
        conn = self._conn
        if conn is not None:
            try:
                await conn.execute(text("SELECT 1"))
                await conn.commit()
            except Exception:
                log.warning("llm-gateway instance %s: liveness connection lost", self.id)
                await self._drop()
        await self.ensure()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            except Exception:  # already gone: nothing to give back
                log.debug("liveness connection already gone", exc_info=True)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(_FREE, {"ns": NAMESPACE, "key": self.key})
            await conn.commit()
        finally:
            await conn.close()

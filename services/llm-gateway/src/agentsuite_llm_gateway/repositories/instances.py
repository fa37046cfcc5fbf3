"""The liveness lock of a gateway process (instance.py), on the connection that holds it.

Not a unit of work's repository: a session-level advisory lock lives as long as its
session, so it is taken, checked and given back on a connection of its own, which
outlives every transaction on it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_TAKE = text("SELECT pg_advisory_lock(:ns, :key)")
_FREE = text("SELECT pg_advisory_unlock(:ns, :key)")
# this session's lock, as PostgreSQL sees it: the connection answering is not enough, a
# session may live on after its locks were given back
_HOLDS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND objsubid = 2 AND classid::bigint = :ns "
    "AND objid::bigint = :key)"
)


class LivenessLock:
    def __init__(self, conn: AsyncConnection, ns: int, key: int) -> None:
        self.conn = conn
        self._params = {"ns": ns, "key": key}

    async def take(self) -> None:
        """Wait for the lock, and keep it past the transaction (a session lock)."""
        await self.conn.execute(_TAKE, self._params)
        await self.conn.commit()

    async def held(self) -> bool:
        """Whether this session still holds it; raises when the session is gone."""
        found = await self.conn.scalar(_HOLDS, self._params)
        await self.conn.commit()
        return bool(found)

    async def free(self) -> None:
        await self.conn.execute(_FREE, self._params)
        await self.conn.commit()

"""This process among the gateway's processes: its instance id, and which ids are alive.

Every process draws an instance id at start and, for as long as it lives, holds a
session-level advisory lock keyed by it on a connection of its own. PostgreSQL drops a
session's locks when the session ends, and a process that dies (even by SIGKILL) has its
socket closed by the kernel, so the lock goes with the process, within moments, whoever
is watching and whatever the lease. Claims and started traces carry the instance id; a
lock nobody holds says its claims are orphans (repositories/requests.py: `alive`).

The lock can also go while the process lives: its session ended by the server (a
restart, an administrator, a proxy dropping an idle connection). Other processes then
answer this one's claims "interrupted", and the requesters retry; were this process to
go on claiming under that id, each new claim would be answered "interrupted" too while
its call runs and is billed, and then billed again on the retry. So every process checks
its own lock on a timer (`instance_check_interval`), and one that lost it takes a NEW id
and lock: its calls under the old id are lost to it (their late answers find them
answered and say nothing), its next claims are live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentsuite_llm_gateway.repositories.instances import LivenessLock

log = logging.getLogger(__name__)

# the first key of every instance lock ("LLMG"): the two-key lock space, apart from the
# single-key one the requests' transaction locks use
NAMESPACE = 0x4C4C4D47


def lock_key(instance_id: UUID) -> int:
    """The second key of `instance_id`'s lock: its first 31 bits (an `oid` in pg_locks)."""
    return int.from_bytes(instance_id.bytes[:4], "big") & 0x7FFFFFFF


class Instance:
    def __init__(self, engine: Callable[[], AsyncEngine], every: float = 10.0) -> None:
        self.id = uuid4()
        self.every = every
        self._engine = engine
        self._lock: LivenessLock | None = None
        self._taking = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    @property
    def key(self) -> int:
        return lock_key(self.id)

    async def ensure(self) -> None:
        """Hold this instance's lock (taken again, under a new id, if it was lost); raises
        when the database cannot be reached, so a claim is never made without it."""
        if self._usable(self._lock):
            return
        async with self._taking:
            await self._take()

    def _usable(self, lock: LivenessLock | None) -> bool:
        return lock is not None and not lock.conn.closed and not lock.conn.invalidated

    async def _take(self) -> None:
        """Under `_taking`: hold a lock, a new id's if this one's was ever held."""
        if self._usable(self._lock):
            return
        if self._lock is not None:
            await self._drop()
        conn = await self._engine().connect()
        lock = LivenessLock(conn, NAMESPACE, self.key)
        try:
            await lock.take()
        except BaseException:
            await conn.close()
            raise
        self._lock = lock
        log.info("llm-gateway instance %s holds its liveness lock", self.id)
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watching(), name="llm-instance-lock")

    async def check(self) -> None:
        """Ask PostgreSQL whether this session still holds the lock; if not (or the session
        is gone), take a lock under a new id."""
        async with self._taking:
            lock = self._lock
            if lock is not None:
                try:
                    held = await lock.held()
                except Exception:
                    held = False
                if not held:
                    lost = self.id
                    await self._drop()
                    self.id = uuid4()
                    log.warning(
                        "llm-gateway instance %s lost its liveness lock; now %s", lost, self.id
                    )
            await self._take()

    async def _watching(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception:  # the database away: the next round tries again
                log.warning("llm-gateway instance %s: lock not checked", self.id, exc_info=True)

    async def _drop(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            await _invalidate(lock.conn)

    async def aclose(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            await lock.free()
        finally:
            await lock.conn.close()


async def _invalidate(conn: AsyncConnection) -> None:
    try:
        await conn.invalidate()
    except Exception:  # already gone: nothing to give back
        log.debug("liveness connection already gone", exc_info=True)

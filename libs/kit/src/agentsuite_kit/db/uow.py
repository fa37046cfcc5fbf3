"""The unit of work: one transaction, tenant-scoped, that alone commits, with its events."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.registry import topic_for_type
from agentsuite_kit.db.rls import TENANT_SETTING
from agentsuite_kit.inbox import InboxRepository
from agentsuite_kit.outbox import OutboxRepository


class UnitOfWork:
    """`async with uow:` opens a transaction scoped to `tenant_id`; `commit()` ends it.

    Services subclass it and build their repositories in `bind()`. Events passed to
    `emit()` are written to the outbox by `commit()`, in the same transaction as the
    state change, so both happen or neither does. Leaving the block without `commit()`
    rolls back.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, tenant_id: UUID | None
    ) -> None:
        self._sessions = sessions
        self.tenant_id = tenant_id
        self._session: AsyncSession | None = None
        self._pending: list[tuple[Envelope[Any], str, str]] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    def bind(self, session: AsyncSession) -> None:
        """Create the repositories of this unit of work (subclasses extend)."""
        self.outbox = OutboxRepository(session)
        self.inbox = InboxRepository(session)

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        await self._session.begin()
        # is_local=true: the setting dies with the transaction, never with the connection
        tenant = "" if self.tenant_id is None else str(self.tenant_id)
        await self._session.execute(select(func.set_config(TENANT_SETTING, tenant, True)))
        self._pending = []
        self.bind(self._session)
        return self

    def emit(
        self, envelope: Envelope[Any], *, topic: str | None = None, key: str | None = None
    ) -> None:
        """Queue an event for the outbox; default topic from the registry, key = subject id."""
        if topic is None:
            topic = topic_for_type(envelope.type).name
        self._pending.append((envelope, topic, key if key is not None else envelope.subject.id))

    async def commit(self) -> None:
        await self.outbox.add_many(self._pending)
        self._pending = []
        await self.session.commit()

    async def rollback(self) -> None:
        self._pending = []
        await self.session.rollback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()

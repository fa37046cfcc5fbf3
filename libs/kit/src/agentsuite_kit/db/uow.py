"""The unit of work: one transaction, tenant-scoped, that alone commits, with its events."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self, overload
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_contracts.envelope import Actor, Envelope, Payload, Subject
from agentsuite_contracts.registry import partition_key, subject_of, topic_for_type
from agentsuite_kit.cause import cause
from agentsuite_kit.db.inbox import InboxRepository
from agentsuite_kit.db.jobs import JobRepository
from agentsuite_kit.db.outbox import (
    DEFAULT_MAX_MESSAGE_BYTES,
    OutboxRepository,
    Pending,
    check_size,
    written,
)
from agentsuite_kit.db.scoped import Hook, ScopedConnection


class UnitOfWork:
    """`async with uow:` opens a transaction scoped to `tenant_id`; `commit()` ends it.

    Services subclass it and build their repositories in `bind()`. Events passed to
    `emit()` are written to the outbox by `commit()`, in the same transaction as the
    state change, so both happen or neither does. Leaving the block without `commit()`
    rolls back.

    `held=True` (what consumers use): `commit()` writes the events but the transaction
    stays open, so the consumer commits the effect together with its inbox claim.
    `all_tenants=True` lifts RLS for this transaction: the relay, pruning and platform
    jobs, never a request of a tenant.

    Post-commit work goes through `on_commit(hook)` (a cache to drop, a process to wake)
    and `notify(channel, payload)` (other processes), never through fields a service
    adds to its unit of work: both are dropped with a rollback, and a held unit of work
    runs them when the consumer finishes.
    """

    producer: str = ""
    """The service name put in emitted envelopes; `Runtime` sets it from its settings."""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        tenant_id: UUID | None,
        held: bool = False,
        all_tenants: bool = False,
    ) -> None:
        self._engine = engine
        self.tenant_id = tenant_id
        self.held = held
        self.all_tenants = all_tenants
        self._session: ScopedConnection | None = None
        self._pending: list[Pending] = []

    @property
    def session(self) -> ScopedConnection:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    def bind(self, session: ScopedConnection) -> None:
        """Create the repositories of this unit of work (subclasses extend)."""
        self.outbox = OutboxRepository(session)
        self.inbox = InboxRepository(session)

    @property
    def jobs(self) -> JobRepository:
        """Durable jobs and timers, scheduled in this transaction (`uow.jobs.schedule(...)`)."""
        return JobRepository(self.session)

    async def __aenter__(self) -> Self:
        session = ScopedConnection(self._engine, self.tenant_id, all_tenants=self.all_tenants)
        # scoped now, so a broken connection fails here (and is returned to the pool)
        await session.open()
        self._session = session
        self._pending = []
        self.bind(session)
        return self

    @overload
    def emit(
        self,
        message: Payload,
        *,
        subject: Subject | None = None,
        actor: Actor | None = None,
        topic: str | None = None,
        key: str | None = None,
        tenant_id: UUID | None = None,
        correlation_id: UUID | None = None,
    ) -> Envelope[Any]: ...

    @overload
    def emit(
        self, message: Envelope[Any], *, topic: str | None = None, key: str | None = None
    ) -> Envelope[Any]: ...

    def emit(
        self,
        message: Payload | Envelope[Any],
        *,
        subject: Subject | None = None,
        actor: Actor | None = None,
        topic: str | None = None,
        key: str | None = None,
        tenant_id: UUID | None = None,
        correlation_id: UUID | None = None,
    ) -> Envelope[Any]:
        """Queue an event for the outbox and return its envelope.

        Given a payload, the envelope is filled in: producer, this unit of work's tenant
        (`tenant_id`: the one an all-tenants unit of work emits for), correlation and
        causation ids, trace and actor from the cause in force (the consumed event or the
        request; `correlation_id` overrides the cause's), the subject and key from the
        topic's key field. Given a whole envelope, or a payload for `tenant_id`, its tenant
        must be this unit of work's.
        """
        if isinstance(message, Envelope):
            envelope = message
        else:
            now = cause()
            envelope = Envelope[Any](
                producer=self.producer or "unknown",
                tenant_id=self.tenant_id if tenant_id is None else tenant_id,
                actor=actor or now.actor,
                subject=subject or subject_of(message),
                correlation_id=correlation_id or now.correlation_id,
                causation_id=now.causation_id,
                trace=now.trace,
                payload=message,
            )
        if envelope.tenant_id != self.tenant_id and not self.all_tenants:
            raise ValueError(
                f"event tenant {envelope.tenant_id} is not this unit of work's "
                f"tenant {self.tenant_id}"
            )
        check_size(envelope, self.max_message_bytes)
        if topic is None:
            topic = topic_for_type(envelope.type).name
        if key is None:
            key = partition_key(envelope, topic)
        self._pending.append(Pending(envelope, topic, key))
        return envelope

    def on_commit(self, hook: Hook) -> None:
        """Run `hook` after this transaction commits (not at all if it does not); a hook
        that raises is logged. A plain function, or one returning an awaitable."""
        self.session.on_commit(hook)

    def notify(self, channel: str, payload: str = "") -> None:
        """PostgreSQL `NOTIFY channel, payload` with this transaction's commit, once."""
        self.session.notify(channel, payload)

    async def commit(self) -> None:
        """Write the queued events; commit, unless the transaction is held by a consumer."""
        await self.flush_events()
        if not self.held:
            await self.session.commit()

    async def flush_events(self) -> None:
        pending, self._pending = self._pending, []
        await self.outbox.add_many(pending)
        if pending:
            self.session.on_commit(written)

    async def finish(self) -> None:
        """Commit a held transaction (the consumer's call, with its inbox claims)."""
        await self.flush_events()
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
        self._pending = []
        await session.close()

"""A service process's moving parts besides its routes: engine, broker, relay, consumers.

    runtime = Runtime(settings, uow=PlanningUow, consumers=[ConsumerSpec(...)])
    app = runtime.app(title="planning", version="1", routers=[plans.router])

The app's lifespan starts the runtime and stops it; `/readyz` checks the database and the
broker through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.registry import envelope_adapter
from agentsuite_kit.auth import JwksKeySet, JwtConfig
from agentsuite_kit.auth.fastapi import STATE_ATTR
from agentsuite_kit.db.engine import make_engine, make_sessionmaker
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.http.app import create_app
from agentsuite_kit.messaging.broker import BrokerSender, make_broker
from agentsuite_kit.messaging.consumer import Consumer, broker_dead_letter, subscribe
from agentsuite_kit.messaging.relay import OutboxRelay
from agentsuite_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)


@dataclass(frozen=True)
class ConsumerSpec(Generic[U]):
    """A subscription of this service: `handler(envelope, uow)` for each event of `topic`."""

    name: str
    topic: str
    handler: Callable[[Envelope[Any], U], Awaitable[None]]
    adapter: TypeAdapter[Envelope[Any]] | None = None  # default: the registry's for `topic`
    workers: int = 1
    batch: int = 1


class Runtime(Generic[U]):
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        uow: Callable[..., U],
        consumers: Sequence[ConsumerSpec[U]] = (),
        relay: bool = True,
    ) -> None:
        self.settings = settings
        self._uow = uow
        self.specs = consumers
        self.relay_enabled = relay
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._broker: KafkaBroker | None = None
        self.consumers: list[Consumer[U]] = []
        self.relay: OutboxRelay | None = None
        self._stop = asyncio.Event()
        self._relay_task: asyncio.Task[None] | None = None
        self.keyset: JwksKeySet | None = None
        if settings.jwks_url is not None:
            self.keyset = JwksKeySet(
                JwtConfig(
                    jwks_url=settings.jwks_url,
                    issuer=settings.jwt_issuer,
                    audience=settings.jwt_audience,
                )
            )

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("runtime not started")
        return self._engine

    @property
    def broker(self) -> KafkaBroker:
        if self._broker is None:
            raise RuntimeError("runtime not started")
        return self._broker

    def uow(self, tenant_id: UUID | None) -> U:
        """A unit of work scoped to `tenant_id` (None: no tenant rows visible)."""
        if self._sessions is None:
            raise RuntimeError("runtime not started")
        return self._uow(self._sessions, tenant_id=tenant_id)

    async def start(self) -> None:
        s = self.settings
        self._engine = make_engine(
            s.database_url.get_secret_value(),
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            application_name=type(s).service,
        )
        self._sessions = make_sessionmaker(self._engine)
        self._broker = await make_broker(s)
        self.consumers = []
        for spec in self.specs:
            adapter = spec.adapter or envelope_adapter(spec.topic)
            consumer = Consumer[U](
                name=spec.name,
                topic=spec.topic,
                adapter=adapter,
                handler=spec.handler,
                uow=self.uow,
                dead_letter=broker_dead_letter(self._broker),
                max_attempts=s.consumer_max_attempts,
                workers=spec.workers,
                batch=spec.batch,
            )
            subscribe(self._broker, consumer)
            self.consumers.append(consumer)
        await self._broker.start()
        if self.relay_enabled:
            self.relay = OutboxRelay(
                self._engine,
                BrokerSender(self._broker),
                batch_size=s.outbox_batch_size,
                poll_interval=s.outbox_poll_interval,
            )
            self._stop.clear()
            self._relay_task = asyncio.create_task(self.relay.run(self._stop), name="relay")

    async def stop(self) -> None:
        self._stop.set()
        if self._relay_task is not None:
            await self._relay_task
            self._relay_task = None
        if self._broker is not None:
            await self._broker.stop()
        if self._engine is not None:
            await self._engine.dispose()
        if self.keyset is not None:
            await self.keyset.aclose()

    async def check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_broker(self) -> None:
        if not await self.broker.ping(timeout=2.0):
            raise ConnectionError("broker did not answer")

    async def check_relay(self) -> None:
        if self._relay_task is not None and self._relay_task.done():
            raise RuntimeError("outbox relay stopped")

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def app(
        self, *, title: str, version: str, routers: Sequence[APIRouter] = (), **kwargs: Any
    ) -> FastAPI:
        """The service's FastAPI app: problems, health, metrics, this runtime's lifespan."""
        app = create_app(
            title,
            version,
            {
                "database": self.check_database,
                "broker": self.check_broker,
                "relay": self.check_relay,
            },
            lifespan=self.lifespan,
            **kwargs,
        )
        app.state.runtime = self
        # where `require(...)` finds its verifier (agentsuite_kit.auth.fastapi.STATE_ATTR)
        setattr(app.state, STATE_ATTR, self.keyset)
        for router in routers:
            app.include_router(router)
        return app

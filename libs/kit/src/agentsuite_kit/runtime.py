"""A service process's moving parts besides its routes: engine, producer, relay, consumers.

    runtime = Runtime(settings, uow=PlanningUow, consumers=[ConsumerSpec(...)])
    app = runtime.app(title="planning", version="1", routers=[plans.router])

The app's lifespan starts the runtime and stops it; `/readyz` checks the database, the
broker, the relay and every consumer group through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agentsuite_contracts.deadletter import group_id
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.registry import REGISTRY, Registry
from agentsuite_kit.auth import ApiKeyExchanger, JwksKeySet, JwtConfig, KeyOrJwt
from agentsuite_kit.auth.fastapi import STATE_ATTR, Authenticator, require_verifier
from agentsuite_kit.auth.revocations import Revocations, Revoking
from agentsuite_kit.db.engine import make_engine
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.http.app import create_app
from agentsuite_kit.http.idempotency import IdempotencyKeys
from agentsuite_kit.jobs import Handler as JobHandler
from agentsuite_kit.jobs import JobRunner
from agentsuite_kit.messaging.consumer import Consumer, Handler
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.messaging.policy import RetryPolicy
from agentsuite_kit.messaging.producer import ProducerSender, make_producer, publisher
from agentsuite_kit.messaging.relay import OutboxRelay
from agentsuite_kit.metrics import KitMetrics
from agentsuite_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)


INTERACTIVE_FETCH_WAIT_MS = 100
"""The fetch wait of a group someone waits on (an LLM call's request and its answer).

Tansu answers an idle fetch only when its wait is up, not when a record arrives, so each
hop waits half the fetch wait on average: 250 ms per hop at aiokafka's 500 ms. An idle
group then fetches ten times a second instead of twice, which costs it and the broker
about 1.5% of a CPU per worker against 0.5% (Apache Kafka ends the wait when a record
arrives: there the shorter wait changes only the idle fetch rate)."""


@dataclass(frozen=True)
class ConsumerSpec(Generic[U]):
    """A subscription of this service: `handlers[payload class](envelope, uow)` per event.

    The group id is `<service>.<name>`. Types on `topic` without a handler are skipped
    and counted. `batch`: a tenant's consecutive events of one fetch share a transaction.

    `also`: further topics the group reads with the same handlers, offsets and inbox (a
    topic being retired, whose last records must still be applied).

    `topic` (and each of `also`) must be in `registry` and carry every payload of
    `handlers`, or the spec refuses to be built (the service does not start): a misspelt
    topic or a handler for a type that travels elsewhere would otherwise wait forever in
    silence. Only the kit's tests pass another `registry` (`Registry.with_topics`, for
    their sample topic). The group's own retry tiers and dead-letter topic are the kit's,
    not the registry's.
    """

    name: str
    topic: str
    handlers: Mapping[type[Payload], Handler[U]]
    workers: int = 1
    batch: bool = False
    fetch: int = 500
    registry: Registry = field(default=REGISTRY, repr=False)
    also: tuple[str, ...] = ()
    fetch_wait_ms: int = 500
    """How long a fetch may wait at the broker for records (`INTERACTIVE_FETCH_WAIT_MS`)."""

    def __post_init__(self) -> None:
        for topic in self.topics:
            self.registry.check_subscription(self.name, topic, self.handlers)

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the group reads."""
        return (self.topic, *self.also)


def retry_policy(settings: ServiceSettings) -> RetryPolicy:
    return RetryPolicy(
        tiers=settings.consumer_retry_tiers,
        handler_timeout=settings.consumer_handler_timeout,
        transient_budget=settings.consumer_transient_budget,
        max_crashes=settings.consumer_max_crashes,
    )


class Runtime(Generic[U]):
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        uow: type[U],
        consumers: Sequence[ConsumerSpec[U]] = (),
        jobs: Mapping[str, JobHandler[U]] | None = None,
        relay: bool = True,
        keyset: JwksKeySet | None = None,
        startup: Sequence[Callable[[], Awaitable[None]]] = (),
        shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.settings = settings
        self.service = type(settings).service
        self._uow = uow
        self.specs = consumers
        self.job_handlers = dict(jobs or {})
        self.relay_enabled = relay
        # run once the runtime is up, before the app serves (a failure fails the start)
        self.startup = list(startup)
        # run when the app stops, before the runtime's own parts (each once, errors logged)
        self.shutdown = list(shutdown)
        self.metrics = KitMetrics()
        self._engine: AsyncEngine | None = None
        self._producer: AIOKafkaProducer | None = None
        self.groups: list[ConsumerGroup[U]] = []
        self.relay: OutboxRelay | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # `keyset`: the service's own verifier (identity reads its keys from its database)
        self.keyset: JwksKeySet | None = keyset
        if keyset is None and settings.jwks_url is not None:
            self.keyset = JwksKeySet(
                JwtConfig(
                    jwks_url=settings.jwks_url,
                    issuer=settings.jwt_issuer,
                    audience=settings.jwt_audience,
                )
            )
        # `Bearer ask_...` API keys: exchanged at identity, then verified by the keyset
        self.exchanger: ApiKeyExchanger | None = None
        if self.keyset is not None and settings.identity_token_url is not None:
            self.exchanger = ApiKeyExchanger(settings.identity_token_url)
        # identity's list of disabled principals, for a keyset built here (identity, which
        # brings its own, checks its principals live)
        self.revocations: Revocations | None = None
        if keyset is None and self.keyset is not None and settings.identity_revocations_url:
            self.revocations = Revocations(
                settings.identity_revocations_url,
                interval=settings.revocation_interval,
                credentials=settings.credentials_file,
            )

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("runtime not started")
        return self._engine

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("runtime not started")
        return self._producer

    @property
    def consumers(self) -> list[Consumer[U]]:
        return [g.consumer for g in self.groups]

    def uow(self, tenant_id: UUID | None, *, held: bool = False, all_tenants: bool = False) -> U:
        """A unit of work scoped to `tenant_id` (None: only platform rows visible)."""
        made = self._uow(self.engine, tenant_id=tenant_id, held=held, all_tenants=all_tenants)
        made.producer = self.service
        made.max_message_bytes = self.settings.max_message_bytes
        return made

    async def start(self) -> None:
        s = self.settings
        self._engine = make_engine(
            s.database_url.get_secret_value(),
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            application_name=self.service,
        )
        if self.keyset is not None:
            # loads the keys if identity answers; never fails the start (see JwksKeySet.start).
            # After the engine: a keyset whose source is this service's database needs it.
            await self.keyset.start()
        if self.revocations is not None:
            await self.revocations.start()  # never fails the start, like the keyset
        self._producer = await make_producer(s)
        self._stop.clear()
        policy = retry_policy(s)
        for spec in self.specs:
            consumer = Consumer[U](
                group=group_id(self.service, spec.name),
                handlers=spec.handlers,
                uow=self.uow,
                publish=publisher(self._producer),
                policy=policy,
                batch=spec.batch,
                metrics=self.metrics,
            )
            group = ConsumerGroup[U](
                consumer,
                spec.topic,
                s.kafka_bootstrap_servers,
                also=spec.also,
                progress=lambda: self.uow(None),
                workers=spec.workers,
                fetch=spec.fetch,
                fetch_wait_ms=spec.fetch_wait_ms,
                client_id=s.kafka_client_id,
                registry=spec.registry,
            )
            self.groups.append(group)
        # by default the joins go on in the background: see ConsumerGroup.start. Waited
        # for, they still run together: each lasts the broker's rebalance delay (5 s on
        # Tansu), so one after another six groups took half a minute.
        started = await asyncio.gather(
            *(g.start(wait=s.consumers_join_before_ready) for g in self.groups),
            return_exceptions=True,
        )
        for failed in started:
            if isinstance(failed, BaseException):
                raise failed
        if self.relay_enabled:
            self.relay = OutboxRelay(
                self._engine,
                ProducerSender(self._producer),
                batch_size=s.outbox_batch_size,
                poll_interval=s.outbox_poll_interval,
                max_attempts=s.outbox_max_attempts,
                retention=timedelta(hours=s.outbox_retention_hours),
                metrics=self.metrics,
            )
            # supervised: restarted with backoff when it dies (database down at start)
            self._tasks.append(asyncio.create_task(self.relay.supervise(self._stop), name="relay"))
        if self.job_handlers:
            runner = JobRunner[U](self.uow, self.job_handlers, registry=self.metrics.registry)
            self._tasks.append(asyncio.create_task(runner.run(self._stop), name="jobs"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))

    async def stop(self) -> None:
        self._stop.set()
        # together: a group still joining may take a few seconds to close (ConsumerGroup.stop)
        stopped = await asyncio.gather(
            *(group.stop() for group in self.groups), return_exceptions=True
        )
        self.groups = []
        for task in self._tasks:
            if task.get_name() == "housekeeping":
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._engine is not None:
            await self._engine.dispose()
        if self.keyset is not None:
            await self.keyset.aclose()
        if self.exchanger is not None:
            await self.exchanger.aclose()
        if self.revocations is not None:
            await self.revocations.aclose()
        for failed in stopped:  # raised once everything else is closed too
            if isinstance(failed, BaseException):
                raise failed

    async def prune(self) -> dict[str, int]:
        """Forget what has aged out, every tenant's: applied event ids past the inbox
        retention, idempotency keys past their day, jobs finished a week ago."""
        s = self.settings
        async with self.uow(None, all_tenants=True) as uow:
            pruned = {
                "inbox": await uow.inbox.prune(timedelta(hours=s.inbox_retention_hours)),
                "idempotency_keys": await IdempotencyKeys(uow.session).prune(),
                "jobs": await uow.jobs.prune(timedelta(days=7)),
            }
            await uow.commit()
        return pruned

    async def _housekeeping(self) -> None:
        while True:
            try:
                pruned = await self.prune()
                if any(pruned.values()):
                    log.info("pruned %s", pruned)
            except Exception:  # the database may be down; the next round tries again
                log.warning("pruning failed", exc_info=True)
            await asyncio.sleep(3600)

    async def check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_broker(self) -> None:
        await self.producer.client.fetch_all_metadata()

    async def check_relay(self) -> None:
        if self.relay is not None:
            self.relay.check()

    async def check_consumers(self) -> None:
        for group in self.groups:
            group.check()

    async def check_keys(self) -> None:
        if self.keyset is not None:
            await self.keyset.check()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        # a route that needs a token verifier and has none fails the start, not each request
        require_verifier(app)
        await self.start()
        try:
            for hook in self.startup:
                await hook()
            yield
        finally:
            for hook in self.shutdown:
                try:
                    await hook()
                except Exception:  # the rest must still stop
                    log.exception("shutdown hook failed")
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
                "consumers": self.check_consumers,
                "keys": self.check_keys,
            },
            registry=self.metrics.registry,
            lifespan=self.lifespan,
            **kwargs,
        )
        app.state.runtime = self
        # where `require(...)` finds its verifier (agentsuite_kit.auth.fastapi.STATE_ATTR);
        # `self.keyset` stays the JwksKeySet, which readiness checks
        verifier: Authenticator | None = self.keyset
        if self.keyset is not None and self.exchanger is not None:
            verifier = KeyOrJwt(self.keyset, self.exchanger)
        if verifier is not None and self.revocations is not None:
            verifier = Revoking(verifier, self.revocations)
        setattr(app.state, STATE_ATTR, verifier)
        for router in routers:
            app.include_router(router)
        if self.settings.trusted_proxies:
            # uvicorn's own middleware: it walks X-Forwarded-For from the right, past the
            # trusted proxies, to the first address none of them vouches for
            app.add_middleware(
                ProxyHeadersMiddleware, trusted_hosts=list(self.settings.trusted_proxies)
            )
        return app

"""A consumer group's handling of records: decode, skip, dedupe, apply, escalate.

Per record: a type this consumer has no handler for is skipped and counted (a newer
producer may add types; that is compatible); a value that does not parse is
dead-lettered, and so is one holding text PostgreSQL cannot store (NUL, a lone surrogate,
NaN: `agentsuite_kit.storable`) or one whose handler raises `PermanentError`; an enum
value it does not know (in a field not marked open) is skipped and counted. Otherwise
the handler runs in a held unit of work whose inbox claim commits with the effect. A
transient fault is retried in place (offset not committed); any other failure sends
the record to the group's next retry tier or, after the last, to its dead-letter topic,
and the partition moves on. `messaging.group` feeds it from Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import groupby
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from agentsuite_contracts.deadletter import (
    PREFIX,
    RETRY_PREFIX,
    DeadLetter,
    RetryState,
    dead_letter_topic,
    retry_topic,
)
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.registry import type_of
from agentsuite_kit.cause import caused_by
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.errors import DomainError
from agentsuite_kit.messaging.errors import HandlerTimeout, PermanentError, is_transient
from agentsuite_kit.messaging.policy import (
    Bury,
    RetryPolicy,
    after_failure,
    transient_delay,
)
from agentsuite_kit.metrics import KitMetrics
from agentsuite_kit.storable import unstorable_json

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[[Envelope[Any], U], Awaitable[None]]
Publish = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]
"""Publish (topic, key, value, headers) and wait for the broker's acknowledgement."""


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed Kafka record, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    RETRYING = "retrying"
    DEAD_LETTERED = "dead-lettered"


class _Head(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str


_HEAD: TypeAdapter[_Head] = TypeAdapter(_Head)


def handled_adapter(payloads: Sequence[type[Payload]]) -> TypeAdapter[Envelope[Any]]:
    """Validator of envelopes whose payload is one of `payloads`, discriminated on type."""
    members: Any = payloads[0]
    for cls in payloads[1:]:
        members = members | cls
    return TypeAdapter(Envelope[members])  # runtime-built union: Any on purpose


@dataclass
class Consumer(Generic[U]):
    """One consumer group: `handlers[payload class](envelope, uow)` applies an event.

    `uow(tenant_id, held=True)` makes the unit of work each apply runs in. `batch`: a
    tenant's consecutive events of one fetch apply in one transaction (falling back to
    one by one when any of them fails, so a poison event is still isolated).
    """

    group: str
    handlers: Mapping[type[Payload], Handler[U]]
    uow: Callable[..., U]
    publish: Publish
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch: bool = False
    metrics: KitMetrics | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    def __post_init__(self) -> None:
        if not self.handlers:
            raise ValueError(f"consumer {self.group} has no handlers")
        self._by_type = {type_of(cls): h for cls, h in self.handlers.items()}
        self._adapter = handled_adapter(list(self.handlers))

    async def process(self, records: Sequence[Record], *, careful: bool = False) -> list[Outcome]:
        """Handle records of one partition in order; every record ends with an outcome.

        `careful` applies one by one even in batch mode (the crash-recovery path).
        """
        outcomes: list[Outcome] = []
        ready: list[tuple[Record, Envelope[Any]]] = []
        for record in records:
            decoded = await self.decode(record)
            if isinstance(decoded, Outcome):
                outcomes.append(decoded)
            else:
                ready.append((record, decoded))
        if self.batch and not careful:
            for tenant, run in groupby(ready, key=lambda pair: pair[1].tenant_id):
                outcomes += await self._apply_run(tenant, list(run))
        else:
            for record, envelope in ready:
                outcomes.append(await self.apply_one(record, envelope))
        self._count(outcomes)
        return outcomes

    def _count(self, outcomes: Sequence[Outcome]) -> None:
        for outcome, n in Counter(outcomes).items():  # once per outcome, not per event
            self.counts[outcome] += n
            if self.metrics is not None:
                self.metrics.consumed.labels(self.group, outcome.value).inc(n)

    async def decode(self, record: Record) -> Envelope[Any] | Outcome:
        """The record's envelope, or the outcome that ends it here (skipped, buried)."""
        type_ = record.headers.get("type")
        if type_ is None:
            try:
                type_ = _HEAD.validate_json(record.value).type
            except ValidationError as exc:
                # pydantic refuses a lone surrogate with a position; the walk names the field
                flaw = unstorable_json(record.value)
                error = f"{flaw.path}: {flaw.reason}" if flaw is not None else _short(exc)
                await self._bury(record, "invalid", error)
                return Outcome.DEAD_LETTERED
        if type_ not in self._by_type:
            self._skip("unhandled-type", record, type_)
            return Outcome.SKIPPED
        flaw = unstorable_json(record.value)
        if flaw is not None:
            # text PostgreSQL cannot hold fails every try alike: dead-lettered at once, not
            # sent round the retry tiers as if the next attempt could store it
            await self._bury(record, "invalid", f"{flaw.path}: {flaw.reason}")
            return Outcome.DEAD_LETTERED
        try:
            # extra="ignore": a producer may already send optional fields added later
            # in this version, which an older consumer must accept (contracts rule 5)
            return self._adapter.validate_json(record.value, extra="ignore")
        except ValidationError as exc:
            if _only_unknown_values(exc):
                self._skip("unknown-value", record, _short(exc))
                return Outcome.SKIPPED
            await self._bury(record, "invalid", _short(exc))
            return Outcome.DEAD_LETTERED

    async def _apply_run(
        self, tenant: UUID | None, items: list[tuple[Record, Envelope[Any]]]
    ) -> list[Outcome]:
        if len(items) > 1:
            try:
                return await self._run(tenant, items)
            except Exception as exc:  # any failure: isolate each event of the run
                log.info(
                    "consumer %s: run of %d failed (%r); one by one", self.group, len(items), exc
                )
        return [await self.apply_one(r, e) for r, e in items]

    async def _run(
        self, tenant: UUID | None, items: list[tuple[Record, Envelope[Any]]]
    ) -> list[Outcome]:
        # One deadline for the run, not one timer per handler (a timer each cost ~40 us per
        # event): a run past it falls back to one by one, where each handler has its own.
        limit = self.policy.handler_timeout * len(items)
        try:
            async with asyncio.timeout(limit):
                return await self._apply(tenant, items)
        except TimeoutError as exc:
            what = items[0][1].type if len(items) == 1 else f"a run of {len(items)}"
            raise HandlerTimeout(f"handlers ran past {limit}s on {what}") from exc

    async def _apply(
        self, tenant: UUID | None, items: list[tuple[Record, Envelope[Any]]]
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self.uow(tenant, held=True) as uow:
            fresh = await uow.inbox.claim_many(
                self.group, [(e.id, r.topic, e.tenant_id) for r, e in items]
            )
            for _record, envelope in items:
                if envelope.id in fresh:
                    fresh.discard(envelope.id)  # a second copy in this run is a duplicate
                    with caused_by(envelope):
                        await self._by_type[envelope.type](envelope, uow)
                    outcomes.append(Outcome.APPLIED)
                else:
                    outcomes.append(Outcome.DUPLICATE)
            await uow.finish()
        return outcomes

    async def apply_one(self, record: Record, envelope: Envelope[Any]) -> Outcome:
        """Apply one event in its own transaction: transient faults retried in place,
        other failures escalated to the next retry tier or the dead-letter topic."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                [outcome] = await self._run(envelope.tenant_id, [(record, envelope)])
                return outcome
            except PermanentError as exc:
                await self._bury(record, "invalid", str(exc) or repr(exc))
                return Outcome.DEAD_LETTERED
            except DomainError as exc:
                # a rule refused the event: trying it again cannot change the answer
                await self._bury(record, "invalid", f"{exc.code}: {exc.message}")
                return Outcome.DEAD_LETTERED
            except Exception as exc:  # a handler may fail in any way
                attempt += 1
                transient = is_transient(exc)
                within = time.monotonic() - started < self.policy.transient_budget
                if transient and within and not self.stopping.is_set():
                    if self.metrics is not None:
                        self.metrics.transient.labels(self.group).inc()
                    delay = transient_delay(attempt, self.policy)
                    log.warning(
                        "consumer %s: transient failure on %s (try %d, again in %.1fs): %r",
                        self.group,
                        envelope.id,
                        attempt,
                        delay,
                        exc,
                    )
                    await asyncio.sleep(delay)
                    continue
                if transient:
                    raise  # stopping, or out of patience: leave the offset uncommitted
                return await self.escalate(record, repr(exc))

    async def escalate(self, record: Record, error: str) -> Outcome:
        """Send a failed record to its next retry tier, or bury it after the last."""
        retry = RetryState.from_headers(record.headers)
        tier = retry.tier if retry is not None else 0
        hop = after_failure(tier, self.policy, datetime.now(UTC))
        if isinstance(hop, Bury):
            await self._bury(record, "handler-failed", error, attempts=hop.attempts)
            return Outcome.DEAD_LETTERED
        topic, partition, offset = _origin(record, retry)
        state = RetryState(
            due_at=hop.due_at,
            tier=hop.tier,
            topic=topic,
            partition=partition,
            offset=offset,
            error=error[:1000],
        )
        log.warning(
            "consumer %s: %s[%d]@%d failed, retry tier %d at %s: %s",
            self.group,
            record.topic,
            record.partition,
            record.offset,
            hop.tier,
            hop.due_at.isoformat(),
            error[:300],
        )
        headers = _strip(record.headers) | state.headers()
        await self.publish(retry_topic(self.group, hop.tier), record.key, record.value, headers)
        if self.metrics is not None:
            self.metrics.retries.labels(self.group, str(hop.tier)).inc()
        return Outcome.RETRYING

    async def bury_crashed(self, record: Record, attempts: int) -> Outcome:
        """Dead-letter a record whose handler killed the process `attempts` times."""
        await self._bury(
            record,
            "crashed",
            f"the process died {attempts} times applying it",
            attempts=attempts,
        )
        self._count([Outcome.DEAD_LETTERED])
        return Outcome.DEAD_LETTERED

    async def _bury(
        self, record: Record, reason: Any, error: str, attempts: int | None = None
    ) -> None:
        topic, partition, offset = _origin(record, RetryState.from_headers(record.headers))
        letter = DeadLetter(
            reason=reason,
            error=error[:4000],
            topic=topic,
            partition=partition,
            offset=offset,
            consumer=self.group,
            failed_at=datetime.now(UTC),
            attempts=attempts,
        )
        log.error(
            "consumer %s: dead-lettering %s[%d]@%d: %s: %s",
            self.group,
            topic,
            partition,
            offset,
            reason,
            error[:500],
        )
        await self.publish(
            dead_letter_topic(self.group),
            record.key,
            record.value,
            _strip(record.headers) | letter.headers(),
        )
        if self.metrics is not None:
            self.metrics.dead_letters.labels(self.group, reason).inc()

    def _skip(self, reason: str, record: Record, detail: str) -> None:
        log.info(
            "consumer %s: skipping %s[%d]@%d (%s: %s)",
            self.group,
            record.topic,
            record.partition,
            record.offset,
            reason,
            detail[:300],
        )
        if self.metrics is not None:
            self.metrics.skipped.labels(self.group, reason).inc()


def _origin(record: Record, retry: RetryState | None) -> tuple[str, int, int]:
    """Where a record was first read: a retry carries its origin, a first read is it."""
    if retry is not None:
        return retry.topic, retry.partition, retry.offset
    return record.topic, record.partition, record.offset


def _strip(headers: Mapping[str, str]) -> dict[str, str]:
    """The record's own headers, without a previous hop's retry or dead-letter ones."""
    return {k: v for k, v in headers.items() if not k.startswith((PREFIX, RETRY_PREFIX))}


# pydantic error types that mean "a value this version of the contract does not list"
_UNKNOWN_VALUE = frozenset({"enum", "literal_error"})


def _only_unknown_values(exc: ValidationError) -> bool:
    """True when every error is an unknown enum/literal value outside the payload's `type`.

    A newer producer may add an enum value; the compatibility check calls that breaking
    for closed enums, but a consumer that meets one skips and counts the message instead of
    dead-lettering it (ARCHITECTURE: unknown values are skipped, not dead-lettered).
    """
    errors = exc.errors()
    return bool(errors) and all(
        e["type"] in _UNKNOWN_VALUE and tuple(e["loc"][-1:]) != ("type",) for e in errors
    )


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])

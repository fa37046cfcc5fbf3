"""The outbox table's writer: events stored with the state change, in the same transaction.

Each event gets the next sequence number of its aggregate (topic + key) in the same
transaction, so consumers can tell a gap or a reordering from the envelope alone.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.tables import outbox, outbox_sequences

# Kafka's default `max.message.bytes` is 1 MiB (plus record overhead); headers ride along.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000


class Waker(Protocol):
    def wake(self) -> None: ...


# this process's leading relays: a commit that wrote outbox rows wakes them, so its rows
# go out at once instead of after a poll interval (the poll stays for other processes' rows)
_WAITING: weakref.WeakSet[Waker] = weakref.WeakSet()


def wake_on_write(waker: Waker) -> None:
    """Have `waker.wake()` called after each commit of this process that wrote outbox rows."""
    _WAITING.add(waker)


def stop_waking(waker: Waker) -> None:
    _WAITING.discard(waker)


def written() -> None:
    """Outbox rows were committed in this process (an after-commit hook). Every leading
    relay of the process is woken: one process serves one database, and a wake of a relay
    of another database (tests) costs it one empty round."""
    for waker in list(_WAITING):
        waker.wake()


class MessageTooLarge(ValueError):
    """An event would not fit the broker's message size limit; it is refused at emit."""


@dataclass(frozen=True, slots=True)
class Pending:
    """An event queued by `emit`, written to the outbox at commit."""

    envelope: Envelope[Any]
    topic: str
    key: str


def encode(envelope: Envelope[Any]) -> tuple[bytes, dict[str, str]]:
    """The wire form: the envelope as JSON, with routing metadata copied into headers."""
    headers = {
        "content-type": "application/json",
        "type": envelope.type,
        "event-id": str(envelope.id),
        "schema-version": str(envelope.schema_version),
        "producer": envelope.producer,
        "correlation-id": str(envelope.correlation_id),
    }
    if envelope.tenant_id is not None:
        headers["tenant-id"] = str(envelope.tenant_id)
    if envelope.trace is not None:
        headers["traceparent"] = envelope.trace.traceparent
    if envelope.sequence is not None:
        headers["sequence"] = str(envelope.sequence)
    return envelope.model_dump_json().encode(), headers


def check_size(envelope: Envelope[Any], limit: int) -> None:
    """Raise `MessageTooLarge` naming the event if its encoded form exceeds `limit`."""
    size = len(envelope.model_dump_json().encode())
    if size > limit:
        raise MessageTooLarge(
            f"event {envelope.type} ({envelope.subject.type} {envelope.subject.id}) is "
            f"{size} bytes; the limit is {limit}: store large data elsewhere and reference it"
        )


_SEQ = pg_insert(outbox_sequences)
# compiled once (parameters passed apart from the statement); rows batched in one INSERT
_ADVANCE = _SEQ.on_conflict_do_update(
    index_elements=[outbox_sequences.c.tenant_id, outbox_sequences.c.topic, outbox_sequences.c.key],
    set_={"seq": outbox_sequences.c.seq + _SEQ.excluded.seq},
).returning(outbox_sequences.c.topic, outbox_sequences.c.key, outbox_sequences.c.seq)


class OutboxRepository(Repository):
    async def add(self, envelope: Envelope[Any], *, topic: str, key: str) -> None:
        await self.add_many([Pending(envelope, topic, key)])

    async def add_many(self, events: Sequence[Pending]) -> None:
        """Sequence and queue events in one statement each, in the given order."""
        if not events:
            return
        last = await self._advance(events)
        rows = []
        for event in reversed(events):  # numbered from each aggregate's last one backwards
            mark = (event.topic, event.key)
            seq = last[mark]
            last[mark] = seq - 1
            envelope = event.envelope.model_copy(update={"sequence": seq})
            value, headers = encode(envelope)
            rows.append(
                {
                    "event_id": envelope.id,
                    "topic": event.topic,
                    "key": event.key,
                    "type": envelope.type,
                    "tenant_id": envelope.tenant_id,
                    "value": value,
                    "headers": headers,
                }
            )
        rows.reverse()
        # rows are inserted in list order (one batched INSERT), so ids follow emit order,
        # which is the order of publication
        await self.session.execute(insert(outbox), rows)

    async def _advance(self, events: Sequence[Pending]) -> dict[tuple[str, str], int]:
        """Reserve each aggregate's next numbers; the last one reserved, by (topic, key).

        The upsert locks the aggregate's row until commit, so two transactions writing
        one aggregate number its events in commit order.
        """
        counts = Counter((e.topic, e.key) for e in events)
        tenants: dict[tuple[str, str], UUID | None] = {
            (e.topic, e.key): e.envelope.tenant_id for e in events
        }
        result = await self.session.execute(
            _ADVANCE,
            [
                {"topic": t, "key": k, "tenant_id": tenants[(t, k)], "seq": n}
                for (t, k), n in sorted(counts.items())  # one lock order: no deadlocks
            ],
        )
        return {(t, k): int(s) for t, k, s in result}

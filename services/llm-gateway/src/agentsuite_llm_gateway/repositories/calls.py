"""Call traces (monthly partitions) and the daily usage rollup (owner: traces).

Every read of `calls` bounds `created_at`, so PostgreSQL prunes to the partitions of that
range and walks (tenant_id, created_at); `/v1/usage` reads only the rollup, whose size
grows with days x models x keys x users, not with calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, literal, select, text, update
from sqlalchemy.engine import RowMapping

from agentsuite_kit.db.repository import Repository, keyset
from agentsuite_llm_gateway.repositories.tables import USAGE_SUMS, calls, usage_daily

STARTED = "started"
INTERRUPTED = "interrupted"  # the error code of a call whose process died mid-call
# how far back a `started` row is looked for: a call runs minutes, not days
_STARTED_WITHIN = 2


# what a usage group_by name reads from the rollup
GROUPS: Mapping[str, ColumnElement[Any]] = {
    "model": usage_daily.c.model,
    "provider": usage_daily.c.provider,
    "day": usage_daily.c.day,
    "month": func.date_trunc("month", usage_daily.c.day, literal("UTC")),
    "api_key": usage_daily.c.api_key_id,
    "user": usage_daily.c.user_id,
    "prompt": usage_daily.c.prompt,
    "status": usage_daily.c.status,
}

# the columns a trace writes, with the array type each is sent as
_CALL_TYPES = {
    "call_id": "uuid",
    "tenant_id": "uuid",
    "created_at": "timestamptz",
    "request_id": "uuid",
    "source": "text",
    "requester": "text",
    "api_key_id": "uuid",
    "user_id": "uuid",
    "org_id": "uuid",
    "run_id": "text",
    "requested": "text",
    "model": "text",
    "provider": "text",
    "prompt_id": "uuid",
    "prompt_version": "int4",
    "status": "text",
    "error_code": "text",
    "prompt_tokens": "int4",
    "completion_tokens": "int4",
    "cached_tokens": "int4",
    "reasoning_tokens": "int4",
    "cost_micros": "int8",
    "currency": "text",
    "latency_ms": "int4",
    "ttft_ms": "int4",
    "stream": "bool",
    "cached": "bool",
    "attempts": "jsonb",
    "instance_id": "uuid",
}
# One statement per batch: each column goes as one array and unnest() zips them into rows.
# Measured on 1000 traces: 0.32 s against 0.88 s for SQLAlchemy's compiled multi-row
# INSERT ... RETURNING, which re-renders 28 bound parameters per row.
_NAMES = ", ".join(_CALL_TYPES)
_VALUES = ", ".join(f"{c}::jsonb" if t == "jsonb" else c for c, t in _CALL_TYPES.items())
_ARRAYS = ", ".join(
    f"${i}::{'text' if t == 'jsonb' else t}[]" for i, t in enumerate(_CALL_TYPES.values(), 1)
)
# built from the constant column map above, never from input
# a finished trace replaces its `started` row (or the one a sweep marked interrupted while
# its process was alive after all); a row already finished is left alone, so a batch
# retried after its commit went through counts nothing twice
_FINISH = ", ".join(
    f"{c} = excluded.{c}" for c in _CALL_TYPES if c not in ("call_id", "created_at")
)
# what the rollup counted of a row a sweep had marked interrupted and a finished trace now
# replaces (PostgreSQL 18's `old`: NULL for a row inserted), so it is taken back
_UNDONE = (
    "tenant_id",
    "created_at",
    "requested",
    "model",
    "provider",
    "api_key_id",
    "user_id",
    "prompt_id",
    "prompt_version",
    "status",
)
_RETURN_UNDONE = ", ".join(f"old.{c}" for c in _UNDONE)
_INSERT_CALLS = f"INSERT INTO calls ({_NAMES}) SELECT {_VALUES} FROM unnest({_ARRAYS}) AS t({_NAMES}) ON CONFLICT (created_at, call_id) DO UPDATE SET {_FINISH} WHERE calls.status = 'started' OR calls.error_code = '{INTERRUPTED}' RETURNING call_id, old.error_code IS NOT DISTINCT FROM '{INTERRUPTED}', {_RETURN_UNDONE}"  # noqa: E501, S608

_USAGE_TYPES = {
    "tenant_id": "uuid",
    "day": "timestamptz",
    "model": "text",
    "provider": "text",
    "api_key_id": "text",
    "user_id": "text",
    "prompt": "text",
    "status": "text",
    **dict.fromkeys(USAGE_SUMS, "int8"),
}
_USAGE_NAMES = ", ".join(_USAGE_TYPES)
_USAGE_ARRAYS = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_USAGE_TYPES.values(), 1))
_USAGE_ADD = ", ".join(f"{c} = usage_daily.{c} + excluded.{c}" for c in USAGE_SUMS)
# built from the constant column maps above, never from input
_UPSERT_USAGE = f"INSERT INTO usage_daily ({_USAGE_NAMES}) SELECT * FROM unnest({_USAGE_ARRAYS}) ON CONFLICT (tenant_id, day, model, provider, api_key_id, user_id, prompt, status) DO UPDATE SET {_USAGE_ADD}"  # noqa: E501, S608

# this transaction only: its commit returns before the WAL reaches the disk
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")

_PARTITIONS = text("SELECT llm_calls_partitions(coalesce(:base, now()), :ahead, :keep)")


@dataclass(frozen=True, slots=True)
class Added:
    ids: set[UUID]  # the calls inserted or finished now
    undone: list[dict[str, Any]]  # the interrupted rows among them, as they were counted


@dataclass(frozen=True, slots=True)
class TraceFilter:
    start: datetime
    end: datetime  # exclusive
    model: str | None = None
    status: str | None = None
    run_id: str | None = None
    api_key_id: UUID | None = None
    user_id: UUID | None = None
    request_id: UUID | None = None
    org_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class UsageFilter:
    start: datetime  # a day's midnight, inclusive
    end: datetime  # exclusive
    model: str | None = None
    provider: str | None = None
    api_key_id: str | None = None
    user_id: str | None = None
    prompt: str | None = None
    status: str | None = None


class Calls(Repository):
    async def add_new(self, rows: Sequence[Mapping[str, Any]]) -> Added:
        """Insert the traces: the call ids actually inserted (or finishing a `started` or
        interrupted row). One already finished (a retried batch whose first commit went
        through) is skipped, so a retry never counts twice."""
        if not rows:
            return Added(set(), [])
        columns = tuple(
            [json.dumps(r[c]) if t == "jsonb" else r[c] for r in rows]
            for c, t in _CALL_TYPES.items()
        )
        result = await self.session.exec_driver_sql(_INSERT_CALLS, columns)
        added = Added(set(), [])
        for row in result.all():
            added.ids.add(row[0])
            if row[1]:
                added.undone.append(dict(zip(_UNDONE, row[2:], strict=True)))
        return added

    async def add_started(self, row: Mapping[str, Any]) -> None:
        """Insert a call's `started` trace, committed without waiting for the disk: it is
        on the hot path before every upstream call, and losing it to a crash of the
        database costs little (the finished trace upserts it; only a call whose process
        also dies goes untraced, and its Kafka claim, committed durably, still gets it
        answered "interrupted")."""
        await self.session.execute(_ASYNC_COMMIT)
        await self.add_new([row])

    async def started_elsewhere(self, mine: UUID, limit: int = 500) -> set[UUID]:
        """The instance ids of other processes with calls still `started`."""
        rows = await self.session.execute(
            select(calls.c.instance_id)
            .where(
                calls.c.status == STARTED,
                calls.c.created_at > func.now() - func.make_interval(0, 0, 0, _STARTED_WITHIN),
                calls.c.instance_id.is_not(None),
                calls.c.instance_id != mine,
            )
            .distinct()
            .limit(limit)
        )
        return {r[0] for r in rows}

    async def interrupt(self, instance_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        """Mark the `started` calls of dead processes interrupted; what their usage rollup
        needs of each."""
        if not instance_ids:
            return []
        c = calls.c
        done = await self.session.execute(
            update(calls)
            .where(
                c.status == STARTED,
                c.created_at > func.now() - func.make_interval(0, 0, 0, _STARTED_WITHIN),
                c.instance_id.in_(instance_ids),
            )
            .values(status="error", error_code=INTERRUPTED)
            .returning(
                c.tenant_id,
                c.created_at,
                c.requested,
                c.model,
                c.provider,
                c.api_key_id,
                c.user_id,
                c.prompt_id,
                c.prompt_version,
                c.status,
            )
        )
        return [dict(r) for r in done.mappings()]

    async def page(
        self, where: TraceFilter, after: Sequence[Any] | None, limit: int
    ) -> list[RowMapping]:
        """Newest first, keyset on (created_at, call_id); `limit + 1` rows at most."""
        query = select(calls).where(*_trace_conditions(where))
        key = (calls.c.created_at, calls.c.call_id)
        query = keyset(query, key, after, limit, descending=True)
        return list((await self.session.execute(query)).mappings().all())

    async def get(self, call_id: UUID, start: datetime, end: datetime) -> RowMapping | None:
        query = select(calls).where(
            calls.c.call_id == call_id, calls.c.created_at >= start, calls.c.created_at < end
        )
        return (await self.session.execute(query)).mappings().first()

    async def partitions(self, ahead: int, keep: int, base: datetime | None = None) -> int:
        """Make the partitions of `base`'s month (default now) and `ahead` more, drop those
        older than `keep` months; how many were dropped (the function runs as the owner)."""
        dropped = await self.session.scalar(
            _PARTITIONS, {"base": base, "ahead": ahead, "keep": keep}
        )
        return int(dropped or 0)


def _trace_conditions(where: TraceFilter) -> list[ColumnElement[bool]]:
    found = [calls.c.created_at >= where.start, calls.c.created_at < where.end]
    for column, value in (
        (calls.c.model, where.model),
        (calls.c.status, where.status),
        (calls.c.run_id, where.run_id),
        (calls.c.api_key_id, where.api_key_id),
        (calls.c.user_id, where.user_id),
        (calls.c.org_id, where.org_id),
        (calls.c.request_id, where.request_id),
    ):
        if value is not None:
            found.append(column == value)
    return found


class Usage(Repository):
    async def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add each row's sums to its (day, model, provider, key, user, prompt, status)
        row. The rows come sorted by that key, so two flushes lock them in one order and
        never deadlock."""
        if not rows:
            return
        columns = tuple([r[c] for r in rows] for c in _USAGE_TYPES)
        await self.session.exec_driver_sql(_UPSERT_USAGE, columns)

    async def report(
        self, groups: Sequence[str], where: UsageFilter, limit: int
    ) -> tuple[list[RowMapping], RowMapping]:
        """Sums per group (at most `limit + 1` groups, ordered by group) and overall."""
        conditions = _usage_conditions(where)
        sums = [func.coalesce(func.sum(usage_daily.c[name]), 0).label(name) for name in USAGE_SUMS]
        keys = [GROUPS[name].label(name) for name in groups]
        grouped = (
            select(*keys, *sums).where(*conditions).group_by(*keys).order_by(*keys).limit(limit + 1)
        )
        rows = list((await self.session.execute(grouped)).mappings().all()) if groups else []
        total = (await self.session.execute(select(*sums).where(*conditions))).mappings().one()
        return rows, total


def _usage_conditions(where: UsageFilter) -> list[ColumnElement[bool]]:
    found = [usage_daily.c.day >= where.start, usage_daily.c.day < where.end]
    for column, value in (
        (usage_daily.c.model, where.model),
        (usage_daily.c.provider, where.provider),
        (usage_daily.c.api_key_id, where.api_key_id),
        (usage_daily.c.user_id, where.user_id),
        (usage_daily.c.status, where.status),
    ):
        if value is not None:
            found.append(column == value)
    if where.prompt is not None:
        # "<id>" matches every version of the prompt, "<id>:<version>" just that one
        if ":" in where.prompt:
            found.append(usage_daily.c.prompt == where.prompt)
        else:
            found.append(usage_daily.c.prompt.startswith(where.prompt + ":", autoescape=True))
    return found

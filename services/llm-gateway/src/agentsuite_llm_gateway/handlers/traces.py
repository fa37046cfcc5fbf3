"""Traces and usage: the partition/retention job, the usage report, the trace queries.

Retention drops whole monthly partitions of `calls` (a DROP TABLE, no row-by-row DELETE
and no bloat); the daily `usage_daily` rollup is kept whole, because it is small (a row
per day, model, key, user, prompt version and status) and is what `/v1/usage` reads, so
spend history outlives the traces it was summed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy.engine import RowMapping

from agentsuite_kit.jobs import Handler, Job
from agentsuite_llm_gateway.repositories.calls import TraceFilter, UsageFilter
from agentsuite_llm_gateway.uow import GatewayUow

if TYPE_CHECKING:
    from agentsuite_llm_gateway.deps import Deps

PARTITIONS = "llm.calls.partitions"
PARTITIONS_CRON = "17 2 * * *"  # daily; months are made 2 ahead, so a missed day is harmless
PARTITIONS_AHEAD = 2

GROUP_NAMES = ("model", "provider", "day", "month", "api_key", "user", "prompt", "status")
MAX_GROUPS = 10_000


def jobs(deps: Deps) -> dict[str, Handler[GatewayUow]]:
    """`llm.calls.partitions`: make the coming months' partitions, drop expired ones."""

    async def partitions(job: Job, uow: GatewayUow) -> None:
        await uow.calls.partitions(PARTITIONS_AHEAD, deps.settings.trace_retention_months)

    return {PARTITIONS: partitions}


async def schedule_partitions(uow: GatewayUow) -> None:
    """Register the tenantless daily partitions cron (idempotent: keyed). Run at startup."""
    await uow.jobs.schedule(PARTITIONS, cron=PARTITIONS_CRON, key=PARTITIONS)


async def ensure_partitions(deps: Deps) -> int:
    """Run the partition maintenance now (startup): a fresh or long-stopped gateway gets
    this month's partition before its first trace; how many expired partitions it dropped."""
    async with deps.uow(None) as uow:
        dropped = await uow.calls.partitions(PARTITIONS_AHEAD, deps.settings.trace_retention_months)
        await uow.commit()
    return dropped


# --- usage ------------------------------------------------------------------------------


def money(micros: int) -> str:
    """Micro-units as an exact decimal string, "1.250000"."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


class UsageSums(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost: str = Field(description="Exact decimal amount in `currency`.")
    cost_micros: int
    currency: str
    avg_latency_ms: float | None

    @classmethod
    def of(cls, row: RowMapping) -> UsageSums:
        requests = int(row["requests"])
        micros = int(row["cost_micros"])
        prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
        return cls(
            requests=requests,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=int(row["cached_tokens"]),
            reasoning_tokens=int(row["reasoning_tokens"]),
            total_tokens=prompt + completion,
            cost=money(micros),
            cost_micros=micros,
            # the rollup keeps no currency: v1 prices are in one currency per tenant (USD)
            currency="USD",
            avg_latency_ms=round(int(row["latency_ms_sum"]) / requests, 1) if requests else None,
        )


class UsageGroup(UsageSums):
    group: dict[str, str | None] = Field(description="The group's value of each group_by key.")


class UsageReport(BaseModel):
    data: list[UsageGroup]
    totals: UsageSums
    truncated: bool = Field(
        default=False, description=f"More than {MAX_GROUPS} groups: narrow the query."
    )


def _group_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if name == "day":
        return str(value.astimezone(UTC).date().isoformat())
    if name == "month":
        return str(value.astimezone(UTC).strftime("%Y-%m"))
    if name in ("api_key", "user", "prompt") and value == "":
        return None  # the rollup's "" is "none": no key, no user, no stored prompt
    return str(value)


@dataclass(frozen=True, slots=True)
class UsageQuery:
    groups: Sequence[str]
    where: UsageFilter


async def usage_report(query: UsageQuery, uow: GatewayUow, deps: Deps) -> UsageReport:
    groups = query.groups
    rows, total = await uow.usage.report(groups, query.where, MAX_GROUPS)
    data = [
        UsageGroup(
            group={g: _group_value(g, row[g]) for g in groups}, **UsageSums.of(row).model_dump()
        )
        for row in rows[:MAX_GROUPS]
    ]
    return UsageReport(data=data, totals=UsageSums.of(total), truncated=len(rows) > MAX_GROUPS)


# --- traces -----------------------------------------------------------------------------


class TraceView(BaseModel):
    call_id: UUID
    request_id: UUID
    created_at: datetime
    source: str
    requester: str
    api_key_id: UUID | None
    user_id: UUID | None
    org_id: UUID | None
    run_id: str | None
    requested: str = Field(description="Model or alias asked for.")
    model: str | None = Field(description="Model that answered (or was tried last).")
    provider: str | None
    prompt_id: UUID | None
    prompt_version: int | None
    status: str
    error_code: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost: str
    cost_micros: int
    currency: str
    latency_ms: int
    ttft_ms: int | None
    stream: bool
    cached: bool
    attempts: list[dict[str, Any]] = Field(description="Every try, in order: the fallback path.")

    @classmethod
    def of(cls, row: RowMapping) -> TraceView:
        values = dict(row)
        values.pop("tenant_id", None)
        values["total_tokens"] = row["prompt_tokens"] + row["completion_tokens"]
        values["cost"] = money(row["cost_micros"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ListTraces:
    where: TraceFilter
    after: Sequence[Any] | None
    limit: int


@dataclass(frozen=True, slots=True)
class GetTrace:
    call_id: UUID


async def list_traces(query: ListTraces, uow: GatewayUow, deps: Deps) -> list[TraceView]:
    return [TraceView.of(r) for r in await uow.calls.page(query.where, query.after, query.limit)]


def _uuid7_window(value: UUID) -> tuple[datetime, datetime] | None:
    """The days around a UUIDv7's timestamp (None: another version, or a time no trace has)."""
    if value.version != 7:
        return None
    try:
        minted = datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)
        return minted - timedelta(days=1), minted + timedelta(days=1)
    except (OverflowError, ValueError, OSError):
        return None


async def get_trace(query: GetTrace, uow: GatewayUow, deps: Deps) -> TraceView | None:
    """One trace. A time-ordered (UUIDv7) call id names its own day, so the read first
    prunes to that day's partition; otherwise (or if it is not there: a call id minted
    apart from its request time) it looks across the retained months."""
    call_id, retention_months = query.call_id, deps.settings.trace_retention_months
    now = datetime.now(UTC)
    window = _uuid7_window(call_id)
    row = None if window is None else await uow.calls.get(call_id, *window)
    if row is None:
        oldest = now - timedelta(days=31 * (retention_months + 1))
        row = await uow.calls.get(call_id, oldest, now + timedelta(days=1))
    return None if row is None else TraceView.of(row)

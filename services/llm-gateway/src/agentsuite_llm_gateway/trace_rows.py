"""What a batch of traces writes, without a database: each call's row, the usage rollup's
rows (summed per key, in lock order), the `llm.usage.v1` event and its actor. Pure, so the
recorder's arithmetic is tested without PostgreSQL; `recorder.write` puts them in one
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.envelope import Actor
from agentsuite_contracts.llm import UsageRecorded
from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.repositories.tables import USAGE_SUMS


def _cut(value: str | None, size: int) -> str | None:
    # a name longer than its column would make the whole batch fail: keep its head
    return value if value is None or len(value) <= size else value[:size]


def prompt_key(trace: Trace) -> str:
    """The rollup's prompt column: "<id>:<version>", or "" without a stored prompt."""
    if trace.prompt_id is None:
        return ""
    return f"{trace.prompt_id}:{trace.prompt_version or 0}"


def day_of(at: datetime) -> datetime:
    """The UTC midnight starting `at`'s day (a naive `at` is taken as UTC)."""
    utc = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def usage_key(
    tenant: UUID,
    at: datetime,
    model: str,
    provider: str | None,
    api_key_id: UUID | None,
    user_id: UUID | None,
    prompt: str,
    status: str,
) -> tuple[Any, ...]:
    """A call's usage_daily row key: (tenant, day, model, provider, key, user, prompt,
    status), cut to the columns' sizes."""
    return (
        tenant,
        day_of(at),
        _cut(model, 128),
        _cut(provider or "", 64),
        "" if api_key_id is None else str(api_key_id),
        "" if user_id is None else str(user_id),
        prompt,
        _cut(status, 8),
    )


def _row(found: dict[tuple[Any, ...], dict[str, Any]], key: tuple[Any, ...]) -> dict[str, Any]:
    row = found.get(key)
    if row is None:
        names = ("tenant_id", "day", "model", "provider", "api_key_id", "user_id")
        row = dict(zip((*names, "prompt", "status"), key, strict=True))
        row.update(dict.fromkeys(USAGE_SUMS, 0))
        found[key] = row
    return row


def _in_lock_order(found: dict[tuple[Any, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    return [found[k] for k in sorted(found, key=lambda k: (str(k[0]), *k[1:]))]


def rollup(
    traces: Iterable[Trace], undone: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The usage_daily rows a batch adds: one per (day, model, provider, key, user, prompt,
    status), sorted by that key (the lock order of the upsert). `undone`: calls counted as
    interrupted that these traces finish after all, taken back in the same upsert."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for u in undone:
        _row(found, _interrupted_key(u))["requests"] -= 1
    for t in traces:
        c = t.caller
        key = usage_key(
            c.tenant_id,
            t.at,
            t.model or t.requested,
            t.provider,
            c.api_key_id,
            c.user_id,
            prompt_key(t),
            t.status,
        )
        row = _row(found, key)
        row["requests"] += 1
        row["prompt_tokens"] += t.tokens.prompt
        row["completion_tokens"] += t.tokens.completion
        row["cached_tokens"] += t.tokens.cached
        row["reasoning_tokens"] += t.tokens.reasoning
        row["cost_micros"] += t.cost_micros
        row["latency_ms_sum"] += t.latency_ms
    return _in_lock_order(found)


def interrupted_rollup(calls: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The usage_daily rows of calls a dead process left `started` and a sweep marked
    interrupted: each an error call at cost 0, as a refusal is (no tokens were reported)."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for c in calls:
        _row(found, _interrupted_key(c))["requests"] += 1
    return _in_lock_order(found)


def _interrupted_key(c: Mapping[str, Any]) -> tuple[Any, ...]:
    prompt = "" if c["prompt_id"] is None else f"{c['prompt_id']}:{c['prompt_version'] or 0}"
    return usage_key(
        c["tenant_id"],
        c["created_at"],
        c["model"] or c["requested"],
        c["provider"],
        c["api_key_id"],
        c["user_id"],
        prompt,
        c["status"],
    )


def call_row(t: Trace) -> dict[str, Any]:
    c = t.caller
    return {
        "call_id": t.call_id,
        "tenant_id": c.tenant_id,
        "created_at": t.at,
        "request_id": t.request_id,
        "source": c.source,
        "requester": _cut(c.requester, 64),
        "api_key_id": c.api_key_id,
        "user_id": c.user_id,
        "org_id": c.org_id,
        "run_id": c.run_id,
        "requested": _cut(t.requested, 128),
        "model": _cut(t.model, 128),
        "provider": _cut(t.provider, 64),
        "prompt_id": t.prompt_id,
        "prompt_version": t.prompt_version,
        "status": _cut(t.status, 8),
        "error_code": _cut(t.error_code, 32),
        "prompt_tokens": t.tokens.prompt,
        "completion_tokens": t.tokens.completion,
        "cached_tokens": t.tokens.cached,
        "reasoning_tokens": t.tokens.reasoning,
        "cost_micros": t.cost_micros,
        "currency": t.currency,
        "latency_ms": t.latency_ms,
        "ttft_ms": t.ttft_ms,
        "stream": t.stream,
        "cached": t.cached,
        "attempts": [a.as_json() for a in t.attempts],
        "instance_id": t.instance_id,
    }


def usage_event(t: Trace) -> UsageRecorded:
    c = t.caller
    return UsageRecorded(
        request_id=t.request_id,
        requester=c.requester,
        user_id=c.user_id,
        model=t.model or t.requested,
        provider=t.provider or "",
        usage=Usage(
            prompt_tokens=t.tokens.prompt,
            completion_tokens=t.tokens.completion,
            total_tokens=t.tokens.total,
            cost=Money(amount_micros=t.cost_micros, currency=t.currency),
            cached_tokens=t.tokens.cached,
            reasoning_tokens=t.tokens.reasoning,
        ),
        latency_ms=max(t.latency_ms, 0),
        status="ok" if t.status == "ok" else "error",
        cached=t.cached,
        labels=dict(t.labels),
        run_id=c.run_id,
        api_key_id=c.api_key_id,
        prompt_id=t.prompt_id,
        prompt_version=t.prompt_version,
        requested=t.requested,
        error_code=t.error_code,
    )


def actor(t: Trace) -> Actor:
    c = t.caller
    if c.api_key_id is not None:
        return Actor(kind="api_key", id=str(c.api_key_id))
    if c.user_id is not None:
        return Actor(kind="user", id=str(c.user_id))
    if c.source == "kafka":
        return Actor(kind="service", id=c.requester)
    return Actor(kind="system", id="llm-gateway")

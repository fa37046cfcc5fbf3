"""The recorder's pure parts: a batch's usage rollup, its rows, its events, its errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.domain.traces import Attempt, Trace
from agentsuite_llm_gateway.handlers.traces import money
from agentsuite_llm_gateway.recorder import transient
from agentsuite_llm_gateway.trace_rows import call_row, day_of, prompt_key, rollup, usage_event

TENANT = uuid.uuid4()
KEY = uuid.uuid4()
USER = uuid.uuid4()
PROMPT = uuid.uuid4()
NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def trace(**kw: Any) -> Trace:
    values: dict[str, Any] = {
        "call_id": uuid.uuid4(),
        "request_id": uuid.uuid4(),
        "at": NOON,
        "caller": Caller(TENANT, user_id=USER, api_key_id=KEY, run_id="run-1"),
        "requested": "default",
        "model": "gpt-x",
        "provider": "openai",
        "status": "ok",
        "tokens": Tokens(prompt=100, completion=20, cached=40, reasoning=5),
        "cost_micros": 123,
        "currency": "USD",
        "latency_ms": 50,
    }
    values.update(kw)
    return Trace(**values)


def test_one_row_per_key_with_exact_sums() -> None:
    rows = rollup([trace(), trace(latency_ms=70, cost_micros=7), trace()])
    assert len(rows) == 1
    [row] = rows
    assert row["requests"] == 3
    assert row["prompt_tokens"] == 300
    assert row["completion_tokens"] == 60
    assert row["cached_tokens"] == 120
    assert row["reasoning_tokens"] == 15
    assert row["cost_micros"] == 123 + 7 + 123
    assert row["latency_ms_sum"] == 170
    assert row["day"] == datetime(2026, 3, 14, tzinfo=UTC)
    assert (row["api_key_id"], row["user_id"], row["prompt"]) == (str(KEY), str(USER), "")


def test_every_key_part_splits_the_rows() -> None:
    base = trace()
    variants = [
        trace(at=NOON + timedelta(days=1)),
        trace(model="other"),
        trace(provider="anthropic"),
        trace(caller=Caller(TENANT, user_id=USER)),
        trace(caller=Caller(TENANT, api_key_id=KEY)),
        trace(prompt_id=PROMPT, prompt_version=2),
        trace(prompt_id=PROMPT, prompt_version=3),
        trace(status="error"),
        trace(caller=Caller(uuid.uuid4(), user_id=USER, api_key_id=KEY)),
    ]
    rows = rollup([base, *variants, base])
    assert len(rows) == 1 + len(variants)
    assert sum(r["requests"] for r in rows) == len(variants) + 2


def test_rows_come_sorted_by_key_whatever_the_batch_order() -> None:
    batch = [trace(model=m, at=NOON + timedelta(days=d)) for m in "cab" for d in (2, 0, 1)]
    keys = [(str(r["tenant_id"]), r["day"], r["model"]) for r in rollup(batch)]
    assert keys == sorted(keys)
    assert keys == [(str(r["tenant_id"]), r["day"], r["model"]) for r in rollup(batch[::-1])]


def test_no_model_counts_under_what_was_asked() -> None:
    [row] = rollup([trace(model=None, provider=None, status="error", requested="smart")])
    assert (row["model"], row["provider"], row["status"]) == ("smart", "", "error")


def test_day_is_the_utc_day() -> None:
    late = datetime(2026, 3, 14, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert day_of(late) == datetime(2026, 3, 15, tzinfo=UTC)
    assert day_of(datetime(2026, 3, 14, 1, 0)) == datetime(2026, 3, 14, tzinfo=UTC)


def test_prompt_key() -> None:
    assert prompt_key(trace()) == ""
    assert prompt_key(trace(prompt_id=PROMPT, prompt_version=4)) == f"{PROMPT}:4"


def test_call_row_and_event_carry_every_attribution() -> None:
    t = trace(
        prompt_id=PROMPT,
        prompt_version=2,
        status="error",
        error_code="timeout",
        attempts=(Attempt("gpt-x", "openai", "timeout", 30, "slow"),),
        labels={"step": "3"},
        ttft_ms=12,
        stream=True,
    )
    row = call_row(t)
    assert row["created_at"] == NOON
    assert row["attempts"] == [
        {"model": "gpt-x", "provider": "openai", "status": "timeout", "ms": 30, "error": "slow"}
    ]
    assert (row["run_id"], row["api_key_id"], row["ttft_ms"], row["stream"]) == (
        "run-1",
        KEY,
        12,
        True,
    )
    event = usage_event(t)
    assert event.usage.total_tokens == 120
    assert (event.usage.cached_tokens, event.usage.reasoning_tokens) == (40, 5)
    assert event.usage.cost.amount_micros == 123
    assert (event.run_id, event.api_key_id, event.user_id) == ("run-1", KEY, USER)
    assert (event.prompt_id, event.prompt_version) == (PROMPT, 2)
    assert (event.requested, event.error_code, event.status) == ("default", "timeout", "error")
    assert event.labels == {"step": "3"}


def test_money_is_exact() -> None:
    assert money(0) == "0.000000"
    assert money(1_250_000) == "1.250000"
    assert money(7) == "0.000007"


def test_connection_failures_are_transient_row_failures_are_not() -> None:
    assert transient(ConnectionRefusedError())
    assert transient(OperationalError("x", {}, Exception("down")))
    assert not transient(IntegrityError("x", {}, Exception("dup")))
    assert not transient(ValueError("bad"))


def test_names_longer_than_their_columns_are_cut_not_fatal() -> None:
    t = trace(requested="r" * 300, model=None, provider="p" * 100, error_code="e" * 50)
    row = call_row(t)
    assert (len(row["requested"]), len(row["provider"]), len(row["error_code"])) == (128, 64, 32)
    assert row["model"] is None
    [usage] = rollup([t])
    assert (len(usage["model"]), len(usage["provider"])) == (128, 64)
    assert usage_event(t).requested == "r" * 300  # the event keeps what was asked

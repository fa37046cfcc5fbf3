"""The envelope and ids: round trips, type checks, immutability, UUIDv7 ordering."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from agentsuite_contracts import (
    Actor,
    DeadLetter,
    Envelope,
    Subject,
    TraceContext,
    decode,
    envelope_adapter,
)
from agentsuite_contracts.ids import uuid7, uuid7_time_ms
from agentsuite_contracts.llm import ChatMessage, LlmRequest, Role
from agentsuite_contracts.planning import PlanApproved, PlanArchived, PlanPhase, PlanSnapshot
from agentsuite_contracts.steps import ApprovalStep, PlanStep, RetryPolicy, StepKind, ToolStep

pytestmark = pytest.mark.unit

PLAN_ID = UUID("01a20000-0000-7000-8000-000000000001")
TENANT_ID = UUID("01a20000-0000-7000-8000-0000000000aa")
USER_ID = UUID("01a20000-0000-7000-8000-0000000000bb")


def approved() -> PlanApproved:
    steps = [
        PlanStep(
            key="fetch",
            name="Fetch leads",
            kind=StepKind.TOOL,
            tool=ToolStep(tool="crm.search", input={"q": "${inputs.segment}"}),
            retry=RetryPolicy(max_attempts=3),
            timeout_ms=5000,
        ),
        PlanStep(
            key="ok",
            name="Sign off",
            kind=StepKind.APPROVAL,
            depends_on=["fetch"],
            approval=ApprovalStep(prompt="Send?", approvers=["role:sales-lead"]),
        ),
    ]
    plan = PlanSnapshot(
        plan_id=PLAN_ID,
        version=2,
        name="Leads",
        goal="Qualify leads",
        phases=[PlanPhase(key="p1", name="All", steps=steps)],
    )
    return PlanApproved(plan_id=PLAN_ID, version=2, approved_by=USER_ID, plan=plan)


def envelope(payload: Any, **kw: Any) -> Envelope[Any]:
    return Envelope(
        producer="planning",
        tenant_id=TENANT_ID,
        actor=Actor(kind="user", id=str(USER_ID)),
        subject=Subject(type="plan", id=str(PLAN_ID)),
        correlation_id=uuid7(),
        trace=TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        payload=payload,
        **kw,
    )


def test_round_trip_json() -> None:
    sent = envelope(approved())
    raw = sent.model_dump_json().encode()
    got = envelope_adapter("planning.plans.v1").validate_json(raw)
    assert got == sent
    assert isinstance(got.payload, PlanApproved)
    assert got.type == "planning.plan.approved"
    assert envelope_adapter().validate_json(raw) == sent  # the all-topics adapter too


def test_round_trip_dict_and_decode() -> None:
    sent = envelope(
        LlmRequest(requester="discovery", messages=[ChatMessage(role=Role.USER, content="Hi")])
    )
    assert decode("llm.requests.v1", sent.model_dump(mode="json")) == sent
    assert decode("llm.requests.v1", sent.model_dump_json()) == sent


def test_type_copied_from_payload() -> None:
    assert envelope(PlanArchived(plan_id=PLAN_ID)).type == "planning.plan.archived"


def test_type_mismatch_rejected() -> None:
    with pytest.raises(ValidationError, match="envelope type"):
        envelope(PlanArchived(plan_id=PLAN_ID), type="planning.plan.approved")
    raw = envelope(PlanArchived(plan_id=PLAN_ID)).model_dump(mode="json")
    raw["type"] = "planning.plan.drafted"
    with pytest.raises(ValidationError, match="envelope type"):
        envelope_adapter("planning.plans.v1").validate_python(raw)


def test_unknown_type_rejected_clearly() -> None:
    raw = envelope(PlanArchived(plan_id=PLAN_ID)).model_dump(mode="json")
    raw["type"] = raw["payload"]["type"] = "planning.plan.exploded"
    with pytest.raises(ValidationError, match=r"'planning\.plan\.exploded'.*expected tags"):
        decode("planning.plans.v1", raw)


def test_type_of_other_topic_rejected() -> None:
    raw = envelope(PlanArchived(plan_id=PLAN_ID)).model_dump(mode="json")
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        decode("execution.executions.v1", raw)


def test_extra_fields_strict_vs_tolerant() -> None:
    raw = envelope(PlanArchived(plan_id=PLAN_ID)).model_dump(mode="json")
    raw["payload"]["added_later"] = 1  # a newer producer's optional field
    with pytest.raises(ValidationError, match="Extra inputs"):
        envelope_adapter("planning.plans.v1").validate_python(raw)
    with pytest.raises(ValidationError, match="Extra inputs"):
        decode("planning.plans.v1", raw, extra="forbid")
    assert decode("planning.plans.v1", raw).payload == PlanArchived(plan_id=PLAN_ID)


def test_frozen() -> None:
    env = envelope(approved())
    with pytest.raises(ValidationError, match="frozen"):
        env.producer = "x"  # type: ignore[misc]  # the point: assignment must fail
    with pytest.raises(ValidationError, match="frozen"):
        env.payload.version = 3
    with pytest.raises(ValidationError, match="frozen"):
        env.payload.plan.phases[0].steps[0].key = "y"


def test_caused_keeps_story() -> None:
    cause = envelope(approved())
    effect = cause.caused(PlanArchived(plan_id=PLAN_ID), producer="planning")
    assert effect.causation_id == cause.id
    assert effect.correlation_id == cause.correlation_id
    assert effect.tenant_id == cause.tenant_id
    assert effect.trace == cause.trace
    assert effect.type == "planning.plan.archived"
    assert effect.id > cause.id
    raw = effect.model_dump_json()
    assert decode("planning.plans.v1", raw) == effect


def test_uuid7_layout_and_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    # the counter may borrow at most a few ms ahead when minting faster than 4096/ms
    assert before <= uuid7_time_ms(value) <= after + 5


def test_uuid7_monotonic() -> None:
    ids = [uuid7() for _ in range(20_000)]  # crosses the 4096-per-ms counter limit
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_uuid7_time_ordered() -> None:
    first = uuid7()
    time.sleep(0.003)
    second = uuid7()
    assert uuid7_time_ms(second) > uuid7_time_ms(first)
    assert second > first


def test_uuid7_threads_unique() -> None:
    out: list[list[UUID]] = [[] for _ in range(8)]

    def mint(bucket: list[UUID]) -> None:
        bucket.extend(uuid7() for _ in range(2000))

    threads = [threading.Thread(target=mint, args=(b,)) for b in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for bucket in out:
        assert bucket == sorted(bucket)
    assert len({i for b in out for i in b}) == 8 * 2000


def test_dead_letter_headers_round_trip() -> None:
    letter = DeadLetter(
        reason="handler-failed",
        error="RuntimeError('no')",
        topic="planning.plans.v1",
        partition=2,
        offset=41,
        consumer="execution",
        failed_at=datetime.now(UTC),
    )
    headers = letter.headers()
    assert headers["dlq-reason"] == "handler-failed"
    assert headers["dlq-failed-at"] == letter.failed_at.isoformat()
    assert DeadLetter.from_headers({**headers, "type": "ignored"}) == letter


def test_dead_letter_rejects_unknown_reason() -> None:
    with pytest.raises(ValidationError):
        DeadLetter.from_headers(
            {
                "dlq-reason": "bored",
                "dlq-error": "",
                "dlq-topic": "t",
                "dlq-partition": "0",
                "dlq-offset": "0",
                "dlq-consumer": "c",
                "dlq-failed-at": "2026-01-01T00:00:00Z",
            }
        )

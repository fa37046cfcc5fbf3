"""Numbers a client sends in headers are read as ASCII digits only: `"²".isdigit()` is
true in Python but `int("²")` fails, so a header of a superscript digit (latin-1 byte
0xB2, as HTTP headers decode) is a 4xx problem, never a 500."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.common import Money
from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import PlanApproved
from agentsuite_contracts.steps import Budget
from agentsuite_execution.handlers.consistency import check
from agentsuite_kit.messaging.errors import PermanentError
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import plan_approved
from tests.integration.execution.test_api import runnable, started, tool
from tests.integration.execution.test_api_control import wait

SUPERSCRIPT_TWO = b"\xb2"  # "²" once decoded as latin-1


def raw(tenant: UUID, name: str, value: bytes) -> list[tuple[bytes, bytes]]:
    """The tenant's auth headers and `name: value`, as bytes (httpx sends str as ASCII)."""
    return [(k.encode(), v.encode()) for k, v in auth(tenant).items()] + [(name.encode(), value)]


async def test_a_last_event_id_of_a_superscript_digit_is_a_400_problem(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool("a")])
    run = await started(engine, tenant, plan.plan_id)
    url = f"/v1/executions/{run['execution_id']}/events"
    for value in (SUPERSCRIPT_TWO, b"1\xb2", b"\xb9\xb3"):
        reply = await engine.client.get(url, headers=raw(tenant, "Last-Event-ID", value))
        assert reply.status_code == 400, (value, reply.status_code, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert reply.json()["code"] == "invalid_cursor"


async def test_an_if_match_of_a_superscript_digit_is_a_412_problem(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait(ms=60_000)])
    run = await started(engine, tenant, plan.plan_id)
    url = f"/v1/executions/{run['execution_id']}/pause"
    reply = await engine.client.post(url, json={}, headers=raw(tenant, "If-Match", b'"\xb2"'))
    assert reply.status_code == 412, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")


# hostile review: POST /v1/executions took {"budget": {"max_tokens": 2**63}} (or a max_cost
# of 2**63 micros) with a 201, as `/budget` does not (le=2**62); the run's first LLM step
# then failed in the engine on every claim ("value out of int64 range" binding the
# reservation statement) and the run stayed `running` for good
@pytest.mark.parametrize(
    "budget",
    [
        {"max_tokens": 2**63},
        {"max_tokens": 10**23},
        {"max_duration_ms": 2**63},
        {"max_cost": {"amount_micros": 2**63, "currency": "USD"}},
    ],
)
async def test_a_start_budget_past_a_bigint_is_a_422_like_a_raise(
    engine: Execution, budget: dict[str, Any]
) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool("a")])
    reply = await engine.client.post(
        "/v1/executions",
        json={"plan_id": str(plan.plan_id), "budget": budget},
        headers=auth(tenant),
    )
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"


# the same number arriving from planning (a plan's own budget in planning.plan.approved) was
# projected, and every run of the plan stuck alike: refused before the projection, with the
# reason, so the consumer dead-letters it at once (PermanentError) instead of storing it
@pytest.mark.parametrize(
    "budget",
    [Budget(max_tokens=2**63), Budget(max_cost=Money(amount_micros=10**23))],
)
def test_a_plan_budget_past_a_bigint_is_dead_lettered_with_its_reason(budget: Budget) -> None:
    payload = plan_approved(steps=[tool("a")], budget=budget)
    event = Envelope[PlanApproved](
        producer="planning",
        tenant_id=uuid4(),
        subject=Subject(type="plan", id=str(payload.plan_id)),
        correlation_id=uuid7(),
        payload=payload,
    )
    with pytest.raises(PermanentError, match=r"budget\.max_(tokens|cost)"):
        check(event)

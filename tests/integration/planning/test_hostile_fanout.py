"""Fan-outs far past the step limit in the lists that name steps (depends_on, serves,
branches, a map body, approvers, a condition's branches): a stored version with one is
validated and approved or refused with a 4xx naming its issues, never a 500."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from tests.integration.planning.harness import Service, auth
from tests.integration.planning.plans_support import body, step

KEYS = [f"k{i}" for i in range(25_000)]

FANOUTS: dict[str, dict[str, Any]] = {
    "depends_on": step("a", *KEYS),
    "serves": step("a") | {"serves": KEYS},
    "parallel branches": {
        "key": "a",
        "name": "a",
        "kind": "parallel",
        "parallel": {"branches": [[k] for k in KEYS]},
    },
    "map body": {
        "key": "a",
        "name": "a",
        "kind": "map",
        "map": {"items": "${inputs.x}", "body": KEYS, "max_items": 2**63},
    },
    "approvers": {
        "key": "a",
        "name": "a",
        "kind": "approval",
        "approval": {"prompt": "p", "approvers": KEYS},
    },
    "if_true": {
        "key": "a",
        "name": "a",
        "kind": "condition",
        "condition": {"expression": "true", "if_true": KEYS},
    },
}


@pytest.mark.parametrize("case", list(FANOUTS))
async def test_a_25000_key_fan_out_is_never_a_server_error(service: Service, case: str) -> None:
    tenant = uuid4()
    made = await service.client.post("/v1/plans", json=body(FANOUTS[case]), headers=auth(tenant))
    assert made.status_code < 500, made.text[:300]
    if made.status_code != 201:
        assert made.headers["content-type"] == "application/problem+json"
        return
    url = f"/v1/plans/{made.json()['id']}/versions/1"
    checked = await service.client.post(f"{url}/validate", headers=auth(tenant))
    assert checked.status_code == 200, checked.text[:300]
    approved = await service.client.post(f"{url}/approve", json={}, headers=auth(tenant))
    assert approved.status_code in (200, 409), approved.text[:300]


async def test_a_wait_or_budget_execution_cannot_hold_is_not_approved(service: Service) -> None:
    # approved, execution would dead-letter the approval (budget past its bigint columns)
    # or overflow adding the wait to now: the plan could never run
    tenant = uuid4()
    wait = {"key": "w", "name": "w", "kind": "wait", "wait": {"duration_ms": 2**63}}
    plan = body(wait) | {"budget": {"max_cost": {"amount_micros": 2**63, "currency": "USD"}}}
    made = await service.client.post("/v1/plans", json=plan, headers=auth(tenant))
    assert made.status_code == 201, made.text[:300]
    url = f"/v1/plans/{made.json()['id']}/versions/1"
    approved = await service.client.post(f"{url}/approve", json={}, headers=auth(tenant))
    assert approved.status_code == 409, approved.text[:300]
    paths = {i["path"] for i in approved.json()["issues"] if i["code"] == "out_of_range"}
    assert paths == {"budget.max_cost.amount_micros", "phases[0].steps[0].wait.duration_ms"}

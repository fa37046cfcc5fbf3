"""Hostile bodies on planning's writing routes: each is a 4xx problem naming what is
wrong, never a 500, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.planning.harness import Service, auth
from tests.integration.planning.plans_support import body, step


async def plans_of(service: Service, tenant: UUID) -> int:
    rows = await service.owner_sql("SELECT count(*) FROM plans WHERE tenant_id = :t", t=tenant)
    return int(rows[0][0])


def problem(reply: Any) -> dict[str, Any]:
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:500])
    assert reply.headers["content-type"] == "application/problem+json"
    found: dict[str, Any] = reply.json()
    return found


RAW = {
    "nul in the goal": '"goal": "a\\u0000b"',
    "lone surrogate in a step name": '"name": "\\ud800"',
    "inputs_schema 2,000 deep": '"inputs_schema": {"d": ' + "[" * 2000 + "]" * 2000 + "}",
}


@pytest.mark.parametrize("case", list(RAW))
async def test_unstorable_or_deep_json_is_a_4xx(service: Service, case: str) -> None:
    tenant = uuid4()
    plan = body()
    text = json.dumps(plan)
    if case == "lone surrogate in a step name":
        text = text.replace('"name": "a"', RAW[case])
    else:
        key = RAW[case].split(":")[0]
        start = text.index(key + ":") if key in text else -1
        if start >= 0:
            end = text.index(",", start)
            text = text[:start] + RAW[case] + text[end:]
        else:
            text = text[:-1] + ", " + RAW[case] + "}"
    for url in ("/v1/plans", "/v1/plans/validate"):
        reply = await service.client.post(
            url, content=text, headers=auth(tenant) | {"content-type": "application/json"}
        )
        problem(reply)
    assert await plans_of(service, tenant) == 0


async def test_a_plan_of_1001_steps_is_refused_naming_the_limit(service: Service) -> None:
    tenant = uuid4()
    steps = [step(f"s{i}") for i in range(1_001)]
    plan = body()
    plan["phases"] = [
        {"key": f"p{n}", "name": "p", "steps": steps[n * 500 : (n + 1) * 500]} for n in range(3)
    ]
    reply = await service.client.post("/v1/plans", json=plan, headers=auth(tenant))
    assert problem(reply)["code"] == "too_many_steps", reply.text
    assert await plans_of(service, tenant) == 0


async def test_a_body_past_the_limit_is_a_413_before_it_is_read(service: Service) -> None:
    tenant = uuid4()
    limit = service.deps.settings.max_request_bytes
    reply = await service.client.post(
        "/v1/plans", json=body() | {"goal": "x" * limit}, headers=auth(tenant)
    )
    assert problem(reply)["code"] == "body_too_large"


async def test_a_plan_too_large_for_its_event_is_refused(service: Service) -> None:
    tenant = uuid4()
    big = "x" * (service.deps.settings.max_plan_bytes - 1_000)
    reply = await service.client.post(
        "/v1/plans", json=body() | {"inputs_schema": {"description": big}}, headers=auth(tenant)
    )
    assert problem(reply).get("code") == "too_large", reply.text[:300]
    assert await plans_of(service, tenant) == 0


async def test_a_self_dependency_is_a_cycle_and_cannot_be_approved(service: Service) -> None:
    tenant = uuid4()
    made = await service.client.post("/v1/plans", json=body(step("a", "a")), headers=auth(tenant))
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    checked = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/validate", headers=auth(tenant)
    )
    codes = {(i["code"], i["severity"]) for i in checked.json()["issues"]}
    assert ("cycle", "error") in codes, checked.text
    refused = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=auth(tenant)
    )
    assert problem(refused)["code"] == "plan_invalid"

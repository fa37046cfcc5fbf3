"""`POST /v1/plans/from-template`: a published template (in plan-feeds' projection) and
parameters make a plan's version 1; parameters that do not fit the template's schema, or
blow the plan past its size limit, are a 422 naming the parameter; a retry with the same
Idempotency-Key gets the first plan, not a second one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.catalog import TemplateSpec
from tests.integration.planning.harness import SIGNER, Service

pytestmark = [pytest.mark.integration]

SPEC = TemplateSpec(
    key="outage-notices",
    name="Outage notices",
    version=2,
    kind="outages",
    tags=["customers"],
    parameters_schema={
        "type": "object",
        "properties": {"channel": {"type": "string", "maxLength": 100000}},
        "required": ["channel"],
        "additionalProperties": False,
    },
    definition={
        "name": "Notify by {{channel}}",
        "phases": [
            {
                "key": "main",
                "name": "Main",
                "steps": [
                    {
                        "key": "notify",
                        "name": "Notify",
                        "kind": "tool",
                        "tool": {"tool": "notify", "input": {"via": "{{channel}}"}},
                    }
                ],
            }
        ],
    },
)


async def published(service: Service, tenant: UUID, spec: TemplateSpec = SPEC) -> UUID:
    template_id = uuid4()
    async with service.deps.runtime.uow(tenant) as uow:
        await uow.catalog.put_template(
            template_id, spec.key, spec.version, "published", spec, datetime.now(UTC)
        )
        await uow.commit()
    return template_id


def headers(tenant: UUID, **more: str) -> dict[str, str]:
    return {**SIGNER.auth(tenant, ["plans:read", "plans:write"], subject=uuid4()), **more}


async def post(service: Service, auth: dict[str, str], body: dict[str, Any]) -> Any:
    return await service.client.post("/v1/plans/from-template", json=body, headers=auth)


async def test_a_template_with_parameters_is_a_plan_once_per_key(service: Service) -> None:
    tenant = uuid4()
    template_id = await published(service, tenant)
    auth = headers(tenant, **{"Idempotency-Key": f"k-{uuid4().hex}"})
    body = {"template": str(template_id), "parameters": {"channel": "sms"}}
    first = await post(service, auth, body)
    assert first.status_code == 201, first.text
    again = await post(service, auth, body)
    assert again.status_code == 201, again.text
    assert again.json()["plan_id"] == first.json()["plan_id"]
    plan_id = first.json()["plan_id"]
    r = await service.client.get(f"/v1/plans/{plan_id}/versions/1", headers=auth)
    assert r.status_code == 200, r.text
    snapshot = r.json()["plan"]
    assert snapshot["name"] == "Notify by sms"
    assert snapshot["phases"][0]["steps"][0]["tool"]["input"] == {"via": "sms"}
    listed = await service.client.get("/v1/plans", headers=auth)
    assert [p["id"] for p in listed.json()["items"]] == [plan_id]
    by_key = await post(service, headers(tenant), {**body, "template": SPEC.key})
    assert by_key.status_code == 201, by_key.text


@pytest.mark.parametrize(
    ("parameters", "code", "field"),
    [
        ({"channel": 5}, "invalid_parameters", "parameters.channel"),
        ({}, "invalid_parameters", "parameters"),
        ({"channel": "sms", "extra": 1}, "invalid_parameters", "parameters"),
        ({"channel": "x" * 99_999}, "too_large", "parameters"),
    ],
)
async def test_parameters_that_do_not_fit_are_a_422_naming_them(
    service: Service, parameters: dict[str, Any], code: str, field: str
) -> None:
    tenant = uuid4()
    # every string of the plan uses the parameter: ten of them pass the size limit
    steps = [
        {"key": f"s{i}", "name": "{{channel}}", "kind": "tool", "tool": {"tool": "{{channel}}"}}
        for i in range(10)
    ]
    spec = SPEC.model_copy(
        update={"definition": {"phases": [{"key": "m", "name": "M", "steps": steps}]}}
    )
    await published(service, tenant, spec)
    r = await post(service, headers(tenant), {"template": SPEC.key, "parameters": parameters})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == code, problem
    assert str(problem.get("field", "")).startswith(field), problem

"""Schemathesis over catalog's OpenAPI, against the real app: for every operation, cases
that follow the schema, cases that break it, and cases aimed at a real tool version of
the caller's tenant. Asserted over all: no 5xx; status, schema and content type as documented;
every error is problem+json with its own status; data the schema forbids gets a 4xx."""

from __future__ import annotations

from uuid import uuid4

from schemathesis import GenerationMode

from tests.integration.catalog.harness import SIGNER, Service
from tests.integration.catalog.test_agents import make_agent
from tests.integration.catalog.test_tasks import group, task
from tests.integration.catalog.test_templates import template
from tests.integration.catalog.tools_support import register
from tests.integration.schemathesis_support import (
    CONFORMANCE,
    Tally,
    both_modes,
    draw,
    operations,
    request,
)

EXAMPLES = 25
ON_REAL_IDS = 5


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    service: Service,
) -> None:
    tenant = uuid4()
    token = SIGNER.token(tenant)
    made = await register(service, tenant, "real")
    agent = await make_agent(service, tenant)
    real = {
        "tool_id": made["tool_id"],
        "version": made["version"],
        "agent_id": agent["agent_id"],
        "number": agent["number"],
        "group_id": (await group(service, tenant, "real.group"))["id"],
        "task_id": (await task(service, tenant, "real.task", "real.group"))["id"],
        "template_id": (await template(service, tenant, "real.template"))["id"],
    }

    ops = operations(service.app, "catalog")
    tally = Tally()
    for op in ops:
        name = f"{op.method.upper()} {op.path}"
        batches = both_modes(op, EXAMPLES)
        params = {p.name for p in op.path_parameters}
        fixed = {k: v for k, v in real.items() if k in params}
        if fixed:
            on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
            batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS)))
        for mode, cases in batches:
            for case in cases:
                sent = request(case, token, "http://catalog")
                response = await service.client.request(**sent)
                answer = f"{response.status_code} {response.text[:300]}"
                where = f"{sent['method']} {sent['url']} -> {answer}"
                tally.judge(case, name, mode, response, sent, CONFORMANCE, where=where)
    tally.report(len(ops))

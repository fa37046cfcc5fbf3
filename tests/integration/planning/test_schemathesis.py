"""Schemathesis over planning's OpenAPI, against the real app: for every operation, cases
that follow the schema, cases that break it, and cases aimed at a real plan of the
caller's tenant. Asserted over all: no 5xx; status, schema and content type as documented;
every error is problem+json with its own status; data the schema forbids gets a 4xx."""

from __future__ import annotations

from uuid import uuid4

from schemathesis import GenerationMode

from tests.integration.planning.harness import SIGNER, Service, auth
from tests.integration.planning.plans_support import body
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
    made = await service.client.post("/v1/plans", json=body(), headers=auth(tenant))
    assert made.status_code == 201, made.text
    real = {"plan_id": made.json()["id"], "version": 1}

    ops = operations(service.app, "planning")
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
                sent = request(case, token, "http://planning")
                response = await service.client.request(**sent)
                answer = f"{response.status_code} {response.text[:300]}"
                where = f"{sent['method']} {sent['url']} -> {answer}"
                tally.judge(case, name, mode, response, sent, CONFORMANCE, where=where)
    tally.report(len(ops))

"""Schemathesis over discovery's OpenAPI, against the real app: for every operation, cases
that follow the schema, cases that break it, and cases aimed at the caller's own session
and the default objective. Asserted over all: no 5xx; status, schema and content type as
documented; every error is problem+json with its own status; data the schema forbids gets
a 4xx."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from schemathesis import GenerationMode

from tests.integration.discovery.harness import SIGNER, Service, auth
from tests.integration.schemathesis_support import (
    CONFORMANCE,
    Tally,
    both_modes,
    draw,
    operations,
    request,
)

EXAMPLES = 25
TIMEOUT = 60.0  # seconds one answer may take: a hang fails the test, it never stalls it
STREAM = "GET /v1/sessions/{session_id}/events"
ON_REAL_IDS = 5


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    service: Service,
) -> None:
    tenant = uuid4()
    # one subject for every case: the session below is the caller's own
    subject = uuid4()
    token = SIGNER.token(tenant, subject=subject)
    made = await service.client.post(
        "/v1/sessions",
        json={"title": "real"},
        headers=auth(tenant, subject=subject),
    )
    assert made.status_code == 201, made.text
    real = {"session_id": made.json()["id"], "key": "default", "version": 1}
    # the stream of an open session stays open: it is aimed at one that is over
    over = await service.client.post(
        "/v1/sessions", json={"title": "over"}, headers=auth(tenant, subject=subject)
    )
    ended = await service.client.post(
        f"/v1/sessions/{over.json()['id']}/abandon", json={}, headers=auth(tenant, subject=subject)
    )
    assert ended.status_code == 200, ended.text

    ops = operations(service.app, "discovery")
    tally = Tally()
    for op in ops:
        name = f"{op.method.upper()} {op.path}"
        batches = both_modes(op, EXAMPLES)
        params = {p.name for p in op.path_parameters}
        fixed = {k: v for k, v in real.items() if k in params}
        if name == STREAM:
            fixed["session_id"] = over.json()["id"]
        if fixed:
            on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
            batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS)))
        for mode, cases in batches:
            for case in cases:
                sent = request(case, token, "http://discovery")
                response = await asyncio.wait_for(service.client.request(**sent), TIMEOUT)
                answer = f"{response.status_code} {response.text[:300]}"
                where = f"{sent['method']} {sent['url']} -> {answer}"
                tally.judge(case, name, mode, response, sent, CONFORMANCE, where=where)
    tally.report(len(ops))

"""Schemathesis over llm-gateway's OpenAPI, against the real app on a real database.

For every operation: cases generated from the schema (positive), cases that break it
(negative), and positive cases aimed at the real objects of a populated tenant (its
provider of kind `local`, so the OpenAI routes answer offline). Each is sent with a token
holding every gateway capability. Asserted over all of them: no 5xx; every response
conforms to its documented status, schema and content type; an error is problem+json with
its own status; data the schema forbids is rejected with a 4xx.

Cases are drawn with hypothesis first and sent afterwards, in the test's event loop: the
app's connection pool lives on that loop, so schemathesis' own (sync) ASGI client cannot
drive it. No shrinking, then: a failure prints the exact request instead. Deletes run last,
so the other operations still find the populated objects.
"""

from __future__ import annotations

from schemathesis import GenerationMode

from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.populate_support import populate
from tests.integration.llm_gateway.route_table import path_ids
from tests.integration.schemathesis_support import (
    CONFORMANCE,
    Tally,
    both_modes,
    draw,
    operations,
    request,
)

EXAMPLES = 12
"""Per operation and mode: 50-odd operations x (12 + 12 + 4) stay well under two minutes."""

ON_REAL_IDS = 4


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    gateway: Gateway,
) -> None:
    made = await populate(gateway)
    assert made.failed == [], "populate failed:\n" + "\n".join(made.failed)

    ops = operations(gateway.app, "the gateway")
    ops.sort(key=lambda op: op.method.upper() == "DELETE")
    tally = Tally()
    for op in ops:
        name = f"{op.method.upper()} {op.path}"
        params = {p.name for p in op.path_parameters}
        batches = both_modes(op, EXAMPLES)
        if params:
            fixed = path_ids(op.path, made.ids)
            on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
            batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS)))
        for mode, cases in batches:
            for case in cases:
                sent = request(case, made.token, "http://gateway")
                response = await gateway.client.request(**sent)
                where = (
                    f"{sent['method']} {sent['url']} params={sent['params']} "
                    f"-> {response.status_code} {response.text[:300]}"
                )
                tally.judge(case, name, mode, response, sent, CONFORMANCE, where=where)
    tally.report(len(ops))


async def test_chat_refuses_mistyped_documented_fields(gateway: Gateway) -> None:
    """Found by the run above: the chat schema documents `stream` as a boolean and
    `messages`, `prompt`, `agentsuite` by type, yet a string `stream` or a null
    `agentsuite` was answered 200. OpenAI refuses them with a 400 naming the param."""
    made = await populate(gateway)
    base = {"model": "local-echo", "messages": [{"role": "user", "content": "x"}]}
    accepted: list[str] = []
    for field, value in (
        ("stream", "yes"),
        ("stream", 1),
        ("messages", "hi"),
        ("prompt", 5),
        ("agentsuite", "x"),
        ("agentsuite", []),
    ):
        r = await gateway.client.post(
            "/v1/chat/completions", json={**base, field: value}, headers=made.headers
        )
        param = r.json().get("error", {}).get("param")
        if r.status_code != 400 or param != field:
            accepted.append(f"{field}={value!r}: {r.status_code} param={param} {r.text[:120]}")
    assert not accepted, "\n".join(accepted)

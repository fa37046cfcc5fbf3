"""Schemathesis over execution's OpenAPI, against the real app with its engine running.

For every operation: cases generated from the schema (positive), cases that break it
(negative), and positive cases aimed at the real runs of a populated tenant (a completed,
a failed, a paused run and one waiting on an approval), a start naming one of its plans and
a signal naming its open approval. Each is sent with a token holding every execution
capability, of the user the approval names. Asserted over all of them: no 5xx; every
response conforms to its documented status, schema and content type; an error is
problem+json with its own status; data the schema forbids is rejected with a 4xx.

Cases are drawn with hypothesis first and sent afterwards, in the test's event loop (as
llm-gateway's run does: the app's pool lives on that loop). Reads run first, then the
commands, cancel last, so the commands still find the runs in the states populated.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from schemathesis import GenerationMode

from tests.integration.execution.harness import Execution
from tests.integration.execution.populate_support import RUNS, Populated, populate
from tests.integration.schemathesis_support import (
    CONFORMANCE,
    Case,
    Tally,
    both_modes,
    draw,
    operations,
    request,
)

EXAMPLES = 15
"""Per operation and mode: 16 operations x (15 + 15 + 4 runs x 3) stay near a minute."""

ON_REAL_IDS = 3
TIMEOUT = 30.0
"""Seconds one answer may take: the event stream of a run that is not over never ends."""

# the stream of a paused or waiting run stays open: aimed at runs that are over only
STREAM = "GET /v1/executions/{execution_id}/events"
_LAST = ("POST /v1/executions/{execution_id}/signals", "POST /v1/executions/{execution_id}/cancel")


def _order(name: str) -> tuple[int, int]:
    return (name.startswith("POST"), _LAST.index(name) + 1 if name in _LAST else 0)


def _aim_body(case: Case, name: str, made: Populated, rng: random.Random) -> None:
    """A generated body pointed at the populated tenant's objects: a start names one of its
    plans (latest version), a signal its open approval."""
    if not isinstance(case.body, dict):
        return
    if name == "POST /v1/executions":
        case.body["plan_id"] = rng.choice(made.plan_ids)
        case.body["plan_version"] = None
    if name == "POST /v1/executions/{execution_id}/signals":
        case.body["approval_id"] = made.approval_id


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    engine: Execution,
) -> None:
    made = await populate(engine)
    assert made.failed == [], "populate failed:\n" + "\n".join(made.failed)
    rng = random.Random(11)  # noqa: S311 - reproducible choices of plans, not secrets

    ops = operations(engine.app, "execution")
    ops.sort(key=lambda op: _order(f"{op.method.upper()} {op.path}"))
    tally = Tally()
    for op in ops:
        name = f"{op.method.upper()} {op.path}"
        params = {p.name for p in op.path_parameters}
        # (mode, cases, aimed at the populated tenant's objects)
        batches = [(mode, cases, False) for mode, cases in both_modes(op, EXAMPLES)]
        if params:
            runs = ("completed", "failed") if name == STREAM else RUNS
            for run in runs:
                fixed = {k: v for k, v in made.ids(run).items() if k in params}
                on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
                batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS), True))
        elif name == "POST /v1/executions":
            more = draw(op.as_strategy(GenerationMode.POSITIVE), EXAMPLES)
            batches.append((GenerationMode.POSITIVE, more, True))
        for mode, cases, real in batches:
            for case in cases:
                if real or (mode is GenerationMode.POSITIVE and name.endswith("/signals")):
                    _aim_body(case, name, made, rng)
                sent = request(case, made.token, "http://execution")
                try:
                    response = await asyncio.wait_for(
                        engine.client.request(**sent), timeout=TIMEOUT
                    )
                except TimeoutError:
                    tally.failures.append(f"no answer in {TIMEOUT} s: {name}: {sent}")
                    continue
                where = (
                    f"{sent['method']} {sent['url']} params={sent['params']} "
                    f"body={str(sent.get('json'))[:300]} "
                    f"-> {response.status_code} {response.text[:300]}"
                )
                tally.judge(case, name, mode, response, sent, CONFORMANCE, where=where)
    tally.report(len(ops))


async def test_numbers_past_what_is_stored_are_a_4xx_never_a_5xx(engine: Execution) -> None:
    """Found by the run above: a start's `plan_version` past PostgreSQL's integer was sent
    to the database as is (500), and so was a `budget.max_duration_ms` past what a
    datetime holds (500). A bound the database or Python cannot hold is a 4xx naming the
    field; a budget too large to reach is accepted as one that never binds."""
    made = await populate(engine)
    plan = made.plan_ids[0]
    huge = 2**63
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("plan_version", {"plan_version": 2**31}),
        ("plan_version", {"plan_version": huge}),
        ("", {"budget": {"max_tokens": huge}}),
        ("", {"budget": {"max_duration_ms": huge}}),
        ("", {"budget": {"max_duration_ms": 10**17}}),
        ("", {"budget": {"max_cost": {"amount_micros": huge, "currency": "USD"}}}),
    ]
    wrong: list[str] = []
    for field, extra in bodies:
        r = await engine.client.post(
            "/v1/executions", json={"plan_id": plan, **extra}, headers=made.headers
        )
        if r.status_code >= 500 or (field and (r.status_code >= 500 or field not in r.text)):
            wrong.append(f"{extra}: {r.status_code} {r.text[:200]}")
    done = made.runs["completed"]
    for params, headers in (({"after": huge}, {}), ({}, {"Last-Event-ID": str(huge)})):
        r = await asyncio.wait_for(
            engine.client.get(
                f"/v1/executions/{done}/events",
                params=params,
                headers={**made.headers, **headers},
            ),
            timeout=TIMEOUT,
        )
        if r.status_code >= 500 or (r.status_code == 200 and "event:" in r.text):
            wrong.append(f"events {params} {headers}: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)

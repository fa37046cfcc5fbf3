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
import contextlib
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case as AnyCase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.execution.harness import Execution
from tests.integration.execution.populate_support import RUNS, Populated, populate

EXAMPLES = 15
"""Per operation and mode: 16 operations x (15 + 15 + 4 runs x 3) stay near a minute."""

ON_REAL_IDS = 3
PROBLEM = "application/problem+json"
TIMEOUT = 30.0
"""Seconds one answer may take: the event stream of a run that is not over never ends."""

Case = AnyCase[Any]
# the stream of a paused or waiting run stays open: aimed at runs that are over only
STREAM = "GET /v1/executions/{execution_id}/events"
_LAST = ("POST /v1/executions/{execution_id}/signals", "POST /v1/executions/{execution_id}/cancel")


def draw(strategy: Any, n: int) -> list[Case]:
    cases: list[Case] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        cases.append(case)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # nothing to break: an operation without inputs has no negative cases
        with contextlib.suppress(Unsatisfiable):
            collect()
    return cases


def _headers_broken(case: Case) -> bool:
    """A negative case whose headers are the broken part: its Authorization stays as made."""
    meta = case.meta
    if meta is None:
        return False
    info = meta.components.get(ParameterLocation.HEADER)
    return info is not None and info.mode is GenerationMode.NEGATIVE


def _order(name: str) -> tuple[int, int]:
    return (name.startswith("POST"), _LAST.index(name) + 1 if name in _LAST else 0)


def _request(case: Case, made: Populated) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://execution")
    headers = {
        k: v
        for k, v in kwargs.get("headers", {}).items()
        if k.lower() not in ("connection", "accept-encoding", "user-agent")
    }
    if not _headers_broken(case):
        headers["Authorization"] = f"Bearer {made.token}"
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": kwargs.get("params") or None,
    }
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    elif "content" in kwargs:
        out["content"] = kwargs["content"]
    elif "data" in kwargs:
        out["content"] = str(kwargs["data"]).encode()
    return out


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


def _problem_check(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    kind = response.headers.get("content-type", "").split(";")[0]
    if kind != PROBLEM:
        return f"error as {kind!r}, not {PROBLEM}"
    body = response.json()
    if body.get("status") != response.status_code:
        return f"problem status {body.get('status')} != {response.status_code}"
    return None


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    engine: Execution,
) -> None:
    made = await populate(engine)
    assert made.failed == [], "populate failed:\n" + "\n".join(made.failed)
    schema = schemathesis.openapi.from_dict(engine.app.openapi())
    rng = random.Random(11)  # noqa: S311 - reproducible choices of plans, not secrets

    failures: list[str] = []
    sent = 0
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"execution's OpenAPI has an invalid operation: {result}"
        operations.append(result.ok())
    operations.sort(key=lambda op: _order(f"{op.method.upper()} {op.path}"))
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for op in operations:
        name = f"{op.method.upper()} {op.path}"
        params = {p.name for p in op.path_parameters}
        # (mode, cases, aimed at the populated tenant's objects)
        batches: list[tuple[GenerationMode, list[Case], bool]] = [
            (
                GenerationMode.POSITIVE,
                draw(op.as_strategy(GenerationMode.POSITIVE), EXAMPLES),
                False,
            ),
            (
                GenerationMode.NEGATIVE,
                draw(op.as_strategy(GenerationMode.NEGATIVE), EXAMPLES),
                False,
            ),
        ]
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
                request = _request(case, made)
                try:
                    response = await asyncio.wait_for(
                        engine.client.request(**request), timeout=TIMEOUT
                    )
                except TimeoutError:
                    failures.append(f"no answer in {TIMEOUT} s: {name}: {request}")
                    continue
                sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                where = (
                    f"{request['method']} {request['url']} params={request['params']} "
                    f"body={str(request.get('json'))[:300]} "
                    f"-> {response.status_code} {response.text[:300]}"
                )
                if response.status_code == 401 and not _headers_broken(case):
                    failures.append(f"401 for a valid token: {name}: {where}")
                checks: list[Callable[..., Any]] = [
                    not_a_server_error,
                    status_code_conformance,
                    response_schema_conformance,
                    content_type_conformance,
                ]
                if mode is GenerationMode.NEGATIVE:
                    checks.append(negative_data_rejection)
                try:
                    case.validate_response(response, checks=checks, headers=request["headers"])
                except (AssertionError, FailureGroup) as exc:
                    failures.append(f"{mode.value} {name}: {exc}".strip()[:1500] + f"\n  {where}")
                    continue
                problem = _problem_check(response)
                if problem:
                    failures.append(f"{mode.value} {name}: {problem}: {where}")
    print(
        f"schemathesis: {len(operations)} operations, {sent} calls, {len(failures)} failures "
        f"in {time.monotonic() - started:.0f}s; answers {dict(sorted(statuses.items()))}"
    )
    assert operations
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} in all)"


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

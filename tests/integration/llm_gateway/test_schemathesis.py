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

import contextlib
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

from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.populate_support import populate
from tests.integration.llm_gateway.route_table import path_ids

EXAMPLES = 12
"""Per operation and mode: 50-odd operations x (12 + 12 + 4) stay well under two minutes."""

ON_REAL_IDS = 4
PROBLEM = "application/problem+json"

Case = AnyCase[Any]


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


def _request(case: Case, token: str) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://gateway")
    headers = {
        k: v
        for k, v in kwargs.get("headers", {}).items()
        if k.lower() not in ("connection", "accept-encoding", "user-agent")
    }
    if not _headers_broken(case):
        headers["Authorization"] = f"Bearer {token}"
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
    gateway: Gateway,
) -> None:
    made = await populate(gateway)
    assert made.failed == [], "populate failed:\n" + "\n".join(made.failed)
    schema = schemathesis.openapi.from_dict(gateway.app.openapi())

    failures: list[str] = []
    sent = 0
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the gateway's OpenAPI has an invalid operation: {result}"
        operations.append(result.ok())
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for op in operations:
        name = f"{op.method.upper()} {op.path}"
        params = {p.name for p in op.path_parameters}
        batches: list[tuple[GenerationMode, list[Case]]] = [
            (GenerationMode.POSITIVE, draw(op.as_strategy(GenerationMode.POSITIVE), EXAMPLES)),
            (GenerationMode.NEGATIVE, draw(op.as_strategy(GenerationMode.NEGATIVE), EXAMPLES)),
        ]
        if params:
            fixed = path_ids(op.path, made.ids)
            on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
            batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS)))
        for mode, cases in batches:
            for case in cases:
                request = _request(case, made.token)
                response = await gateway.client.request(**request)
                sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                where = (
                    f"{request['method']} {request['url']} params={request['params']} "
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
        f"schemathesis: {len(operations)} operations, {sent} cases, {len(failures)} failures "
        f"in {time.monotonic() - started:.0f}s; answers {dict(sorted(statuses.items()))}"
    )
    assert operations
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} in all)"


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

"""Schemathesis over identity's OpenAPI, against the real app on a real database.

For every operation: cases generated from the schema (positive), cases that break it
(negative), and positive cases aimed at real objects of a populated tenant. Each is sent
with a tenant admin's token (capability `*`), or a platform token where the route serves
only platform principals. Asserted over all of them: no 5xx; a 2xx conforms to its
documented schema and content type; an error is problem+json with its own status; data
the schema forbids is rejected with a 4xx.

Cases are drawn with hypothesis first and sent afterwards, in the test's event loop: the
app's connection pool lives on that loop, so schemathesis' own (sync) ASGI client cannot
drive it. No shrinking, then: a failure prints the exact request instead.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
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
)

from agentsuite_identity.domain.capabilities import PLATFORM
from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import own_identity, platform_token, populate
from tests.integration.identity.route_table import Gate, gates

EXAMPLES = 12
"""Per operation and mode: 65-odd operations x (12 + 12 + 4) stay well under a minute."""

ON_REAL_IDS = 4
_OAUTH = ("/v1/token", "/v1/revoke")
"""RFC 6749 §5.2 / RFC 7009: these answer OAuth's own JSON errors, 401 for a bad client."""

PROBLEM = "application/problem+json"

Case = AnyCase[Any]


@pytest.fixture(scope="module")
async def identity(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Identity]:
    """An identity of this module's own: fuzzing rotates keys and creates platform accounts."""
    async with own_identity(pg_admin_url, kafka_bootstrap, tmp_path_factory.mktemp("st")) as it:
        yield it


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


def _platform_only(gate: Gate | None) -> bool:
    return gate is not None and gate.platform and any(c in PLATFORM for c in gate.capabilities)


def _form(data: Any) -> bytes:
    if not isinstance(data, dict):
        return str(data).encode()
    return urlencode(
        {str(k): v if isinstance(v, str) else str(v) for k, v in data.items()}
    ).encode()


def _headers_broken(case: Case) -> bool:
    """A negative case whose headers are the broken part: its Authorization stays as made."""
    meta = case.meta
    if meta is None:
        return False
    info = meta.components.get(ParameterLocation.HEADER)
    return info is not None and info.mode is GenerationMode.NEGATIVE


def _request(case: Case, token: str) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://identity")
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
    elif "data" in kwargs:
        out["content"] = _form(kwargs["data"])
    elif "content" in kwargs:
        out["content"] = kwargs["content"]
    return out


def _problem_check(response: httpx.Response) -> str | None:
    if response.status_code < 400 or response.status_code >= 500:
        return None
    kind = response.headers.get("content-type", "").split(";")[0]
    if response.request.url.path in _OAUTH:
        return None
    if kind != PROBLEM:
        return f"error as {kind!r}, not {PROBLEM}"
    body = response.json()
    if body.get("status") != response.status_code:
        return f"problem status {body.get('status')} != {response.status_code}"
    return None


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    identity: Identity,
) -> None:
    made = await populate(identity)
    platform = await platform_token(identity)
    victim = await identity.bare_tenant()
    real = {**made.ids, "tenant_id": str(victim)}
    table = {g.name: g for g in gates(identity.app)}
    schema = schemathesis.openapi.from_dict(identity.app.openapi())

    failures: list[str] = []
    sent = 0
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"identity's OpenAPI has an invalid operation: {result}"
        op = result.ok()
        name = f"{op.method.upper()} {op.path}"
        gate = table.get(name)
        token = platform if _platform_only(gate) else made.token
        operations += 1
        params = {p.name for p in op.path_parameters}
        batches: list[tuple[GenerationMode, list[Case]]] = [
            (GenerationMode.POSITIVE, draw(op.as_strategy(GenerationMode.POSITIVE), EXAMPLES)),
            (GenerationMode.NEGATIVE, draw(op.as_strategy(GenerationMode.NEGATIVE), EXAMPLES)),
        ]
        if params and params <= real.keys():
            fixed = {p: real[p] for p in params}
            on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
            batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS)))
        for mode, cases in batches:
            for case in cases:
                request = _request(case, token)
                response = await identity.client.request(**request)
                sent += 1
                if (
                    response.status_code == 401
                    and op.path not in _OAUTH
                    and not _headers_broken(case)
                ):
                    # the token is valid all along (rotations included): a 401 is a bug
                    failures.append(f"401 for a valid token: {name} {response.text[:200]}")
                checks: list[Callable[..., Any]] = [not_a_server_error]
                if response.status_code < 300:
                    checks += [response_schema_conformance, content_type_conformance]
                if mode is GenerationMode.NEGATIVE:
                    checks.append(negative_data_rejection)
                try:
                    case.validate_response(response, checks=checks, headers=request["headers"])
                except (AssertionError, FailureGroup) as exc:
                    failures.append(f"{mode.value} {name}: {exc}".strip()[:1500])
                    continue
                problem = _problem_check(response)
                if problem:
                    failures.append(
                        f"{mode.value} {name}: {problem}: {request['method']} "
                        f"{request['url']} -> {response.status_code} {response.text[:200]}"
                    )
    print(f"schemathesis: {operations} operations, {sent} cases, {len(failures)} failures")
    assert operations > 0
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} in all)"


async def test_nul_in_authorize_context_is_refused_not_a_500(identity: Identity) -> None:
    """Found by the run above: PostgreSQL's jsonb cannot hold U+0000, so a decision whose
    context carries one must be refused as bad input, not fail while being recorded."""
    made = await populate(identity)
    for context in ({"note": "a\u0000b"}, {"a\u0000b": 1}, {"n": [{"x": "\u0000"}]}):
        r = await identity.client.post(
            "/v1/authorize",
            headers={"Authorization": f"Bearer {made.token}"},
            json={"action": "plans:read", "context": context},
        )
        print(context, r.status_code, r.text[:100])
        assert r.status_code in (200, 422), r.text

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

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from agentsuite_identity.domain.capabilities import PLATFORM
from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import own_identity, platform_token, populate
from tests.integration.identity.route_table import Gate, gates
from tests.integration.schemathesis_support import (
    Check,
    Tally,
    both_modes,
    draw,
    operations,
    problem_check,
    request,
)

EXAMPLES = 12
"""Per operation and mode: 65-odd operations x (12 + 12 + 4) stay well under a minute."""

ON_REAL_IDS = 4
_OAUTH = ("/v1/token", "/v1/revoke")
"""RFC 6749 §5.2 / RFC 7009: these answer OAuth's own JSON errors, 401 for a bad client."""


@pytest.fixture(scope="module")
async def identity(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Identity]:
    """An identity of this module's own: fuzzing rotates keys and creates platform accounts."""
    async with own_identity(pg_admin_url, kafka_bootstrap, tmp_path_factory.mktemp("st")) as it:
        yield it


def _platform_only(gate: Gate | None) -> bool:
    return gate is not None and gate.platform and any(c in PLATFORM for c in gate.capabilities)


def _form(data: Any) -> bytes:
    if not isinstance(data, dict):
        return str(data).encode()
    return urlencode(
        {str(k): v if isinstance(v, str) else str(v) for k, v in data.items()}
    ).encode()


def _problem_check(response: httpx.Response) -> str | None:
    if response.request.url.path in _OAUTH:
        return None
    return problem_check(response)


async def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    identity: Identity,
) -> None:
    made = await populate(identity)
    platform = await platform_token(identity)
    victim = await identity.bare_tenant()
    real = {**made.ids, "tenant_id": str(victim)}
    table = {g.name: g for g in gates(identity.app)}

    ops = operations(identity.app, "identity")
    tally = Tally()
    for op in ops:
        name = f"{op.method.upper()} {op.path}"
        gate = table.get(name)
        token = platform if _platform_only(gate) else made.token
        params = {p.name for p in op.path_parameters}
        batches = both_modes(op, EXAMPLES)
        if params and params <= real.keys():
            fixed = {p: real[p] for p in params}
            on_real = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
            batches.append((GenerationMode.POSITIVE, draw(on_real, ON_REAL_IDS)))
        for mode, cases in batches:
            for case in cases:
                sent = request(case, token, "http://identity", form=_form)
                response = await identity.client.request(**sent)
                checks: list[Check] = [not_a_server_error]
                # an error's status is not held to the documented ones here
                if response.status_code < 300:
                    checks += [response_schema_conformance, content_type_conformance]
                where = (
                    f"{sent['method']} {sent['url']} -> {response.status_code} "
                    f"{response.text[:200]}"
                )
                # the token is valid all along (rotations included): a 401 is a bug, except
                # from the OAuth endpoints, which answer a bad client with one
                tally.judge(
                    case,
                    name,
                    mode,
                    response,
                    sent,
                    checks,
                    where=where,
                    problem=_problem_check,
                    bearer=op.path not in _OAUTH,
                )
    tally.report(len(ops))


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

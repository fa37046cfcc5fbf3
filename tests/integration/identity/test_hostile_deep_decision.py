"""Hostile review: `POST /v1/authorize` takes a `context` nested 400 deep (200, the
decision recorded with it), after which `GET /v1/decisions` answers 500 for every reader
of the tenant: the stored request cannot be serialized ("Maximum serialization depth
exceeded"). One caller with `authorize:check` poisons the tenant's decision log. Seen on
`agentsuite up`; the same cause gives a 500 at identity's `POST /v1/users` (`attributes`)
and at execution (`inputs`, signal `data`). Too deep a document must be refused when
sent, never stored."""

from __future__ import annotations

from typing import Any

from agentsuite_contracts.ids import uuid7
from tests.integration.identity.harness import Identity
from tests.integration.identity.test_authorize import _ask, _tenant

DEPTH = 400


async def test_a_deep_context_does_not_poison_the_decision_log(identity: Identity) -> None:
    _, user, auth, _ = await _tenant(identity)
    deep = "[" * DEPTH + "]" * DEPTH
    body = (
        f'{{"subject": {{"id": "{user}"}}, "action": "plans:read", '
        f'"resource": {{"type": "plan"}}, "context": {{"x": {deep}}}}}'
    )
    asked = await identity.client.post(
        "/v1/authorize", content=body, headers={**auth, "content-type": "application/json"}
    )
    assert asked.status_code < 500, asked.text
    page = await identity.client.get("/v1/decisions", headers=auth)
    assert page.status_code == 200, page.text


async def test_a_deep_decision_stored_before_the_bound_does_not_break_the_list(
    identity: Identity,
) -> None:
    # a row written before the edge bounded depth: the list shows it without its document
    # (the reason instead), and the tenant's other decisions stay readable
    tenant, user, auth, _ = await _tenant(identity)
    deep: Any = []
    for _ in range(DEPTH):
        deep = [deep]
    async with identity.deps.runtime.uow(tenant) as uow:
        uow.decisions.record(
            {
                "decision_id": uuid7(),
                "tenant_id": tenant,
                "request": {"action": "plans:read", "context": {"x": deep}},
                "allowed": False,
                "reason": "no_grant",
                "explanation": {"policies": [], "roles": []},
                "elapsed_ms": 1.0,
            }
        )
        await uow.commit()
    fine = _ask(user, "plans:read")
    assert (await identity.client.post("/v1/authorize", json=fine, headers=auth)).status_code == 200
    page = await identity.client.get("/v1/decisions", headers=auth)
    assert page.status_code == 200, page.text
    requests = [d["request"] for d in page.json()["items"]]
    assert len(requests) == 2
    assert requests[0]["action"] == "plans:read"
    assert "deeper than 64 levels" in requests[1]["withheld"]

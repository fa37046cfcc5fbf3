"""Hostile review: `POST /v1/authorize` takes a `context` nested 400 deep (200, the
decision recorded with it), after which `GET /v1/decisions` answers 500 for every reader
of the tenant: the stored request cannot be serialized ("Maximum serialization depth
exceeded"). One caller with `authorize:check` poisons the tenant's decision log. Seen on
`agentsuite up`; the same cause gives a 500 at identity's `POST /v1/users` (`attributes`)
and at execution (`inputs`, signal `data`). Too deep a document must be refused when
sent, never stored."""

from __future__ import annotations

from tests.integration.identity.harness import Identity
from tests.integration.identity.test_authorize import _tenant

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

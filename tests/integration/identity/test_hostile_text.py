"""Text PostgreSQL cannot hold (NUL, a lone surrogate) on every identity route with a JSON
body, in values and keys, aimed at real objects: a 4xx naming the field, never a 500; and
on the OAuth token endpoint's form: RFC 6749's invalid_request. identity serves after."""

from __future__ import annotations

import pytest

from tests.integration.hostile_support import oversize, sweep
from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import populate


async def test_every_body_route_refuses_unstorable_text_by_name(identity: Identity) -> None:
    made = await populate(identity)
    headers = {"Authorization": f"Bearer {made.token}"}
    wrong = await sweep(identity.app, identity.client, headers, made.ids)
    assert wrong == [], "\n".join(wrong)
    assert (await identity.client.get("/v1/users", headers=headers)).status_code == 200


@pytest.mark.parametrize("field", ["username", "tenant", "client_id", "grant_type"])
async def test_a_nul_in_the_token_form_is_invalid_request(identity: Identity, field: str) -> None:
    form = {"grant_type": "password", "username": "a@b.io", "password": "pw", "tenant": "t"}
    form[field] = "a\x00b"
    reply = await identity.client.post("/v1/token", data=form)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == "invalid_request", reply.text
    assert field in reply.json()["error_description"]


async def test_every_body_route_refuses_a_body_over_the_limit(identity: Identity) -> None:
    """A body over `max_request_bytes` is a 413 on every route, before it is parsed (identity
    had no limit: a client could make it read and decode any size)."""
    made = await populate(identity)
    headers = {"Authorization": f"Bearer {made.token}"}
    limit = identity.deps.settings.max_request_bytes
    wrong = await oversize(identity.app, identity.client, headers, limit, made.ids)
    assert wrong == [], "\n".join(wrong)
    form = {"grant_type": "password", "username": "a@b.io", "password": "p" * limit}
    assert (await identity.client.post("/v1/token", data=form)).status_code == 413

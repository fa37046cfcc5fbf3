"""API keys against a real identity: create/list/get/revoke, the secret shown once and
stored only hashed, scope rules, and the token exchange refusing every bad key alike."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import jwt

from agentsuite_identity.grants import (
    ACCESS_TOKEN_TYPE,
    API_KEY_TOKEN_TYPE,
    GRANT_TOKEN_EXCHANGE,
    TokenResponse,
)
from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import add_member, add_org, grant_role

ADMIN_CAPS = ["api_keys:read", "api_keys:write", "plans:read", "plans:write", "users:read"]


async def setup(identity: Identity, caps: list[str] | None = None) -> tuple[UUID, UUID, str]:
    """A tenant, a user holding `caps` (role and token alike), and that user's token."""
    tenant = await identity.bare_tenant()
    user = await identity.bare_user(tenant)
    held = ADMIN_CAPS if caps is None else caps
    await grant_role(identity, tenant, user, held)
    return tenant, user, await identity.mint(tenant, user, held)


async def create(identity: Identity, token: str, **body: Any) -> Any:
    body.setdefault("name", "ci")
    return await identity.client.post(
        "/v1/api-keys", json=body, headers={"Authorization": f"Bearer {token}"}
    )


@dataclass
class Refusal:
    error: str
    description: str
    status: int
    retry_after: int | None


async def _post_exchange(identity: Identity, key: str) -> httpx.Response:
    return await identity.client.post(
        "/v1/token",
        data={
            "grant_type": GRANT_TOKEN_EXCHANGE,
            "subject_token": key,
            "subject_token_type": API_KEY_TOKEN_TYPE,
        },
    )


async def exchange(identity: Identity, key: str) -> TokenResponse:
    """`POST /v1/token` with the key, as the kit's exchanger sends it."""
    answer = await _post_exchange(identity, key)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    return TokenResponse.model_validate(answer.json())


async def refused(identity: Identity, key: str) -> Refusal:
    answer = await _post_exchange(identity, key)
    assert answer.status_code != 200
    retry = answer.headers.get("Retry-After")
    body = answer.json()
    return Refusal(
        body["error"],
        body.get("error_description", ""),
        answer.status_code,
        None if retry is None else int(retry),
    )


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_create_shows_the_secret_once_and_stores_only_its_hash(identity: Identity) -> None:
    tenant, user, token = await setup(identity)
    answer = await create(identity, token, scopes=["plans:read"], rate_limit_per_minute=30)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    key = body["key"]
    assert key.startswith(f"ask_{body['prefix']}_")
    assert len(body["prefix"]) == 12
    assert body["user_id"] == str(user)
    secret = key[len("ask_") + 13 :]
    [row] = await identity.owner_sql(
        "SELECT secret_hash, prefix, scopes, tenant_id FROM api_keys WHERE api_key_id = :i",
        i=UUID(body["id"]),
    )
    assert bytes(row.secret_hash) == hashlib.sha256(secret.encode()).digest()
    assert row.tenant_id == tenant
    assert row.scopes == ["plans:read"]
    # the plain secret is nowhere in the row
    dumped = await identity.owner_sql(
        "SELECT row_to_json(k)::text FROM api_keys k WHERE api_key_id = :i", i=UUID(body["id"])
    )
    assert secret not in dumped[0][0]

    got = await identity.client.get(f"/v1/api-keys/{body['id']}", headers=auth(token))
    assert got.status_code == 200
    assert "key" not in got.json()
    assert "secret_hash" not in got.json()
    assert got.json()["prefix"] == body["prefix"]
    assert got.json()["last_used_at"] is None


async def test_idempotent_create_replays_without_the_secret(identity: Identity) -> None:
    _, _, token = await setup(identity)
    headers = {**auth(token), "Idempotency-Key": uuid.uuid4().hex}
    first = await identity.client.post("/v1/api-keys", json={"name": "x"}, headers=headers)
    again = await identity.client.post("/v1/api-keys", json={"name": "x"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["key"].startswith("ask_")
    assert again.json()["key"] is None
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    stored = await identity.owner_sql(
        "SELECT body FROM idempotency_keys WHERE subject = :s", s=claims_of(token)["sub"]
    )
    assert all(first.json()["key"].encode() not in bytes(r.body) for r in stored)


async def test_list_pages_and_never_shows_secrets(identity: Identity) -> None:
    _, _, token = await setup(identity)
    made = [(await create(identity, token, name=f"k{i}")).json() for i in range(3)]
    seen: list[str] = []
    url = "/v1/api-keys?limit=2"
    while url:
        page = await identity.client.get(url, headers=auth(token))
        assert page.status_code == 200
        for item in page.json()["items"]:
            assert "key" not in item
            seen.append(item["id"])
        cursor = page.json()["next_cursor"]
        url = f"/v1/api-keys?limit=2&cursor={cursor}" if cursor else ""
    assert seen == [m["id"] for m in reversed(made)]
    mine = await identity.client.get(
        f"/v1/api-keys?user_id={made[0]['user_id']}", headers=auth(token)
    )
    assert len(mine.json()["items"]) == 3
    others = await identity.client.get(f"/v1/api-keys?user_id={uuid.uuid4()}", headers=auth(token))
    assert others.json()["items"] == []


async def test_other_tenants_keys_are_not_found(identity: Identity) -> None:
    _, _, token = await setup(identity)
    key_id = (await create(identity, token)).json()["id"]
    _, _, stranger = await setup(identity)
    assert (
        await identity.client.get(f"/v1/api-keys/{key_id}", headers=auth(stranger))
    ).status_code == 404
    revoke = await identity.client.post(f"/v1/api-keys/{key_id}/revoke", headers=auth(stranger))
    assert revoke.status_code == 404
    listed = await identity.client.get("/v1/api-keys", headers=auth(stranger))
    assert listed.json()["items"] == []


async def test_unknown_capability_is_422_naming_the_scope(identity: Identity) -> None:
    _, _, token = await setup(identity)
    answer = await create(identity, token, scopes=["plans:read", "plans:fly"])
    assert answer.status_code == 422
    assert answer.json()["field"] == "scopes[1]"
    assert answer.json()["errors"][0]["loc"] == ["body", "scopes", 1]


async def test_bad_input_is_422_and_writes_nothing(identity: Identity) -> None:
    tenant, _, token = await setup(identity)
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "x", "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"name": "x", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "expires_at": "2999-01-01T00:00:00"}, "expires_at"),
    ):
        answer = await identity.client.post("/v1/api-keys", json=body, headers=auth(token))
        assert answer.status_code == 422, body
        assert field in answer.text
    assert await identity.owner_sql("SELECT 1 FROM api_keys WHERE tenant_id = :t", t=tenant) == []


async def test_scope_beyond_the_creators_rights_is_403(identity: Identity) -> None:
    _, _, token = await setup(identity)
    for scopes in (["plans:approve"], ["plans:*"], ["*"]):
        answer = await create(identity, token, scopes=scopes)
        assert answer.status_code == 403, scopes
        assert answer.json()["field"] == "scopes[0]"


async def test_only_a_user_creates_keys(identity: Identity) -> None:
    tenant, _, token = await setup(identity)
    key = (await create(identity, token, scopes=["api_keys:write"])).json()["key"]
    key_token = (await exchange(identity, key)).access_token
    by_key = await create(identity, key_token)
    assert by_key.status_code == 403
    assert by_key.json()["code"] == "user_token_required"
    reader = await identity.bare_user(tenant)
    no_write = await identity.mint(tenant, reader, ["api_keys:read"])
    assert (await create(identity, no_write)).status_code == 403


async def test_exchange_issues_a_token_limited_to_scopes_and_owner(identity: Identity) -> None:
    tenant, user, token = await setup(identity)
    body = (await create(identity, token, scopes=["plans:read", "users:read"])).json()
    issued = await exchange(identity, body["key"])
    assert issued.issued_token_type == ACCESS_TOKEN_TYPE
    assert issued.expires_in == identity.settings.api_key_token_ttl
    principal = await identity.deps.runtime.keyset.authenticate(issued.access_token)  # type: ignore[union-attr]
    assert principal.kind is PrincipalKind.API_KEY
    assert principal.subject == body["id"]
    assert principal.tenant_id == tenant
    assert principal.capabilities == {"plans:read", "users:read"}
    assert principal.claims["owner"] == str(user)
    assert "rl" not in principal.claims
    # the owner loses users:read: the key's next token loses it too
    await identity.owner_sql("DELETE FROM role_assignments WHERE principal_id = :u", u=user)
    await grant_role(identity, tenant, user, ["plans:read"])
    again = claims_of((await exchange(identity, body["key"])).access_token)
    assert again["caps"] == ["plans:read"]
    # the token is accepted by identity's own routes while the key lives
    me = await identity.client.get(
        "/v1/api-keys", headers=auth((await exchange(identity, body["key"])).access_token)
    )
    assert me.status_code == 403  # authenticated; the key has no api_keys:read


async def test_empty_scopes_mean_the_owners_rights(identity: Identity) -> None:
    _, _, token = await setup(identity)
    body = (await create(identity, token, rate_limit_per_minute=600)).json()
    issued = claims_of((await exchange(identity, body["key"])).access_token)
    assert set(issued["caps"]) == set(ADMIN_CAPS)
    assert issued["rl"] == 600


async def test_last_used_is_written_at_most_once_a_minute(identity: Identity) -> None:
    _, _, token = await setup(identity)
    body = (await create(identity, token)).json()
    await exchange(identity, body["key"])
    [first] = await identity.owner_sql(
        "SELECT last_used_at FROM api_keys WHERE api_key_id = :i", i=UUID(body["id"])
    )
    assert first.last_used_at is not None
    await exchange(identity, body["key"])
    [second] = await identity.owner_sql(
        "SELECT last_used_at FROM api_keys WHERE api_key_id = :i", i=UUID(body["id"])
    )
    assert second.last_used_at == first.last_used_at
    await identity.owner_sql(
        "UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE api_key_id = :i",
        i=UUID(body["id"]),
    )
    await exchange(identity, body["key"])
    [third] = await identity.owner_sql(
        "SELECT last_used_at FROM api_keys WHERE api_key_id = :i", i=UUID(body["id"])
    )
    assert third.last_used_at > first.last_used_at


async def test_revoked_key_is_refused_and_its_token_stops_at_identity(identity: Identity) -> None:
    _, _, token = await setup(identity)
    body = (await create(identity, token, scopes=["api_keys:read"])).json()
    key_token = (await exchange(identity, body["key"])).access_token
    assert (await identity.client.get("/v1/api-keys", headers=auth(key_token))).status_code == 200
    revoked = await identity.client.post(
        f"/v1/api-keys/{body['id']}/revoke", json={"reason": "leaked"}, headers=auth(token)
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["revoke_reason"] == "leaked"
    assert (await refused(identity, body["key"])).error == "invalid_grant"
    # identity checks the key on every request: its unexpired token is refused at once
    assert (await identity.client.get("/v1/api-keys", headers=auth(key_token))).status_code == 401
    # revoking again changes nothing; DELETE is the same revocation
    again = await identity.client.delete(f"/v1/api-keys/{body['id']}", headers=auth(token))
    assert again.status_code == 204
    got = await identity.client.get(f"/v1/api-keys/{body['id']}", headers=auth(token))
    assert got.json()["revoke_reason"] == "leaked"
    events = await identity.owner_sql(
        "SELECT type, value FROM outbox WHERE key = :k ORDER BY id", k=body["id"]
    )
    assert [e.type for e in events] == ["identity.api_key.created", "identity.api_key.revoked"]
    assert body["key"].split("_", 2)[2].encode() not in bytes(events[0].value)


async def test_every_bad_key_is_the_same_invalid_grant(identity: Identity) -> None:
    _tenant, _user, token = await setup(identity)
    key = (await create(identity, token)).json()["key"]
    prefix = key[4:16]
    wrong_secret = f"ask_{prefix}_{'A' * 43}"
    unknown_prefix = f"ask_{'a' * 12}_{key[17:]}"
    errors = [
        await refused(identity, k)
        for k in (wrong_secret, unknown_prefix, "ask_short", "not-a-key", key + "x")
    ]
    assert {(e.error, e.description) for e in errors} == {(errors[0].error, errors[0].description)}
    assert errors[0].error == "invalid_grant"


async def test_expired_key_is_refused(identity: Identity) -> None:
    _, _, token = await setup(identity)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    body = (await create(identity, token, expires_at=soon.isoformat())).json()
    issued = await exchange(identity, body["key"])
    assert issued.expires_in <= identity.settings.api_key_token_ttl
    await identity.owner_sql(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE api_key_id = :i",
        i=UUID(body["id"]),
    )
    assert (await refused(identity, body["key"])).error == "invalid_grant"


async def test_suspended_tenant_and_deactivated_owner_refuse_the_key(identity: Identity) -> None:
    tenant, _user, token = await setup(identity)
    key = (await create(identity, token)).json()["key"]
    await exchange(identity, key)
    await identity.owner_sql(
        "UPDATE tenants SET status = 'suspended' WHERE tenant_id = :t", t=tenant
    )
    assert (await refused(identity, key)).error == "invalid_grant"

    _tenant2, user2, token2 = await setup(identity)
    key2 = (await create(identity, token2)).json()["key"]
    await exchange(identity, key2)
    await identity.owner_sql("UPDATE users SET status = 'deactivated' WHERE user_id = :u", u=user2)
    assert (await refused(identity, key2)).error == "invalid_grant"


async def test_rate_limit_answers_slow_down(identity: Identity) -> None:
    _, _, token = await setup(identity)
    key = (await create(identity, token, rate_limit_per_minute=3)).json()["key"]
    for _ in range(3):
        await exchange(identity, key)
    error = await refused(identity, key)
    assert error.error == "slow_down"
    assert error.status == 429
    assert error.retry_after is not None
    assert 1 <= error.retry_after <= 20


async def test_org_key_needs_an_org_admin(identity: Identity) -> None:
    tenant, user, token = await setup(identity)
    org, _ = await add_org(identity, tenant, user)
    refused_member = await create(identity, token, org_id=str(org))
    assert refused_member.status_code == 403
    assert refused_member.json()["field"] == "org_id"
    await add_member(identity, tenant, org, user, "admin")
    body = (await create(identity, token, org_id=str(org), scopes=["plans:read"])).json()
    assert body["org_id"] == str(org)
    assert body["user_id"] is None
    issued = claims_of((await exchange(identity, body["key"])).access_token)
    assert issued["caps"] == ["plans:read"]
    assert issued["org"] == str(org)
    assert "owner" not in issued
    # the key is the org's: it outlives its creator's account
    await identity.owner_sql("UPDATE users SET status = 'deactivated' WHERE user_id = :u", u=user)
    assert claims_of((await exchange(identity, body["key"])).access_token)["caps"] == ["plans:read"]


async def test_exchange_needs_the_api_key_token_type(identity: Identity) -> None:
    _, _, token = await setup(identity)
    key = (await create(identity, token)).json()["key"]
    for token_type in (None, "urn:ietf:params:oauth:token-type:access_token"):
        form = {"grant_type": GRANT_TOKEN_EXCHANGE, "subject_token": key}
        if token_type is not None:
            form["subject_token_type"] = token_type
        answer = await identity.client.post("/v1/token", data=form)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_request"

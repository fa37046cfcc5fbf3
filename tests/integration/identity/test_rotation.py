"""Signing-key rotation: by API (platform only) and by the scheduled job; the new key
signs, the old one keeps verifying until its window ends, the private part never shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import jwt

from agentsuite_identity.handlers.signing_keys import ROTATE_JOB, jobs, schedule_rotation
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.jobs import Job
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import running_job

CAPS = ["signing_keys:rotate", "signing_keys:read"]


async def operator(identity: Identity) -> dict[str, str]:
    token = await identity.mint(
        None, f"op-{uuid.uuid4().hex[:6]}", CAPS, kind=PrincipalKind.PLATFORM
    )
    return {"authorization": f"Bearer {token}"}


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def test_rotate_by_api(identity: Identity) -> None:
    headers = await operator(identity)
    old_token = await identity.mint(uuid.uuid4(), uuid.uuid4(), [], ttl=600)
    answer = await identity.client.post("/v1/signing-keys/rotate", headers=headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["previous_kid"] == kid_of(old_token)
    assert body["kid"] != body["previous_kid"]
    assert datetime.fromisoformat(body["previous_valid_until"]) > datetime.now(UTC)
    # the new key signs at once, and this worker's verifier knows it already
    new_token = await identity.mint(uuid.uuid4(), uuid.uuid4(), [])
    assert kid_of(new_token) == body["kid"]
    keyset = identity.deps.runtime.keyset
    assert keyset is not None
    assert body["kid"] in keyset.kids
    # the old token still verifies (signature and claims; its tenant is not in the db)
    claims = await keyset.verify(old_token)
    assert claims["sub"] == jwt.decode(old_token, options={"verify_signature": False})["sub"]
    jwks = (await identity.client.get("/.well-known/jwks.json")).json()
    assert {body["kid"], body["previous_kid"]} <= {k["kid"] for k in jwks["keys"]}
    listed = await identity.client.get("/v1/signing-keys", headers=headers)
    assert listed.status_code == 200, listed.text
    items = {k["kid"]: k for k in listed.json()["items"]}
    assert items[body["kid"]]["signing"] is True
    assert items[body["previous_kid"]]["signing"] is False
    assert items[body["previous_kid"]]["retired_at"] is not None
    assert "private" not in listed.text
    [event] = await identity.owner_sql(
        "SELECT value FROM outbox WHERE type = 'identity.signing_key.rotated' AND key = :k",
        k=body["kid"],
    )
    assert body["previous_kid"].encode() in event.value
    # and the new key's rotation is scheduled
    [job] = await identity.owner_sql(
        "SELECT run_at, state FROM jobs WHERE kind = :kind AND key = :key",
        kind=ROTATE_JOB,
        key=f"rotation:{body['kid']}",
    )
    assert job.state == "scheduled"


async def test_rotation_is_for_platform_principals_only(identity: Identity) -> None:
    tenant_owner = await identity.mint(uuid.uuid4(), uuid.uuid4(), ["*"])
    without = await identity.mint(None, "svc", ["signing_keys:read"], kind=PrincipalKind.SERVICE)
    for token in (tenant_owner, without):
        answer = await identity.client.post(
            "/v1/signing-keys/rotate", headers={"authorization": f"Bearer {token}"}
        )
        assert answer.status_code in (401, 403), answer.text
    listed = await identity.client.get(
        "/v1/signing-keys", headers={"authorization": f"Bearer {tenant_owner}"}
    )
    assert listed.status_code in (401, 403)
    anonymous = await identity.client.post("/v1/signing-keys/rotate")
    assert anonymous.status_code == 401


async def test_scheduled_rotation(identity: Identity) -> None:
    async with identity.deps.runtime.uow(None) as uow:
        kid = await schedule_rotation(uow, identity.settings)
        await uow.commit()
    assert kid is not None
    handler = jobs(identity.deps)[ROTATE_JOB]

    def job(for_kid: str) -> Job:
        return running_job(ROTATE_JOB, f"rotation:{for_kid}", {"kid": for_kid})

    # a job for a key that no longer signs does not rotate again
    async with identity.deps.runtime.uow(None) as uow:
        await handler(job("an-old-kid"), uow)
    async with identity.deps.runtime.uow(None) as uow:
        current = await uow.signing_keys.current(lock=False)
    assert current.kid == kid
    async with identity.deps.runtime.uow(None) as uow:
        await handler(job(kid), uow)
    async with identity.deps.runtime.uow(None) as uow:
        current = await uow.signing_keys.current(lock=False)
    assert current.kid != kid
    [scheduled] = await identity.owner_sql(
        "SELECT count(*) AS n FROM jobs WHERE kind = :kind AND key = :key",
        kind=ROTATE_JOB,
        key=f"rotation:{current.kid}",
    )
    assert scheduled.n == 1

"""Key rotation without downtime: rows under the old key open, the job moves them."""

from __future__ import annotations

import base64
import os
import uuid
from uuid import UUID

import pytest

from agentsuite_llm_gateway.crypto import Cipher, CredentialError
from agentsuite_llm_gateway.handlers.providers import (
    REENCRYPT,
    REENCRYPT_CRON,
    jobs,
    reencrypt,
    schedule_reencrypt,
)
from tests.integration.llm_gateway.harness import Gateway, auth


async def test_reencrypt_moves_every_tenants_rows_to_the_active_key(gateway: Gateway) -> None:
    made: list[tuple[UUID, UUID, str]] = []
    for i in range(4):
        tenant = uuid.uuid4()
        secret = f"sk-rotate-{i}-{uuid.uuid4().hex}"
        r = await gateway.client.post(
            "/v1/providers",
            json={"name": f"p{i}", "kind": "anthropic", "credential": secret},
            headers=auth(tenant),
        )
        assert r.status_code == 201, r.text
        made.append((tenant, UUID(r.json()["provider_id"]), secret))
    # the first (lowest id of the four) no longer opens: the pass must go on past it
    broken, made = made[0], made[1:]
    await gateway.owner_sql(
        "UPDATE providers SET credential = overlay(credential placing "
        "decode(lpad(to_hex(get_byte(credential, 20) # 1), 2, '0'), 'hex') from 21 for 1) "
        "WHERE provider_id = :p",
        p=broken[1],
    )
    ids = [str(p) for _, p, _ in made]

    old = gateway.settings
    keys = {k: v.get_secret_value() for k, v in old.credential_keys.items()}
    keys["k2"] = base64.b64encode(os.urandom(32)).decode()
    rotated = Cipher(old.model_copy(update={"credential_keys": _secrets(keys)}))
    rotated.key_id = "k2"

    async def key_ids(of: list[str]) -> set[str]:
        rows = await gateway.owner_sql(
            "SELECT credential_key_id FROM providers WHERE provider_id::text = ANY(:ids)", ids=of
        )
        return {r[0] for r in rows}

    assert await key_ids(ids) == {"k1"}
    try:
        # batches of 1: the pass goes on until every stale row was met once
        moved = await reencrypt(rotated, gateway.deps.uow, batch=1)
        assert moved >= 3
        assert await key_ids(ids) == {"k2"}
        assert await key_ids([str(broken[1])]) == {"k1"}  # logged, left as it was
        for tenant, provider, secret in made:
            [row] = await gateway.owner_sql(
                "SELECT credential, version FROM providers WHERE provider_id = :p", p=provider
            )
            assert rotated.open(tenant, provider, bytes(row[0]), "k2") == secret
            assert row[1] == 1  # the provider itself did not change
        assert await reencrypt(rotated, gateway.deps.uow) == 0
    finally:
        # the session's gateway only knows k1: every row goes back under it
        rotated.key_id = "k1"
        await reencrypt(rotated, gateway.deps.uow)
    assert await key_ids(ids) == {"k1"}
    assert REENCRYPT in jobs(gateway.deps)


async def test_a_row_moved_to_another_tenant_is_left_alone(gateway: Gateway) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    r = await gateway.client.post(
        "/v1/providers",
        json={"name": "p", "kind": "anthropic", "credential": "sk-a"},
        headers=auth(a),
    )
    provider = r.json()["provider_id"]
    # someone copies the ciphertext into tenant b's row: it must not open there
    await gateway.owner_sql(
        "UPDATE providers SET tenant_id = :b WHERE provider_id = :p", b=b, p=provider
    )
    [row] = await gateway.owner_sql(
        "SELECT credential FROM providers WHERE provider_id = :p", p=provider
    )
    with pytest.raises(CredentialError) as refused:
        gateway.deps.cipher.open(b, UUID(provider), bytes(row[0]), "k1")
    assert "sk-a" not in str(refused.value)
    await gateway.owner_sql("DELETE FROM providers WHERE provider_id = :p", p=provider)


def _secrets(keys: dict[str, str]) -> dict[str, object]:
    from pydantic import SecretStr

    return {k: SecretStr(v) for k, v in keys.items()}


async def test_the_reencryption_cron_is_scheduled_once(gateway: Gateway) -> None:
    async with gateway.deps.uow(None) as uow:
        await schedule_reencrypt(uow)  # again, as every worker does at start
        await uow.commit()
    rows = await gateway.owner_sql(
        "SELECT cron, tenant_id FROM jobs WHERE kind = :k AND state <> 'finished'", k=REENCRYPT
    )
    assert [(r[0], r[1]) for r in rows] == [(REENCRYPT_CRON, None)]

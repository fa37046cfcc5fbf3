"""The tenant secrets store: the value is write-only (no answer, log line or error carries
it), sealed per (tenant, name) so another tenant's name never resolves and a moved or
re-keyed blob fails closed, and rotation re-seals every row under the active key."""

from __future__ import annotations

import base64
import logging
import os
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.catalog import AuthScheme, ToolAuth
from agentsuite_execution.engine.credentials import credential_of
from agentsuite_execution.handlers.secrets import reencrypt
from agentsuite_execution.tools import ToolError
from agentsuite_execution.tools.credentials import Credential, SecretBox
from tests.integration.execution.harness import (
    ALL_CAPS,
    SECRET_KEY,
    SECRET_KEY_ID,
    Execution,
    auth,
    make_settings,
)

VALUE = "sk-live-7f3c9a-very-secret-token"


def bearer(name: str) -> ToolAuth:
    return ToolAuth(scheme=AuthScheme.BEARER, secret_name=name)


async def put(ex: Execution, tenant: UUID, name: str, value: str = VALUE) -> dict[str, object]:
    answer = await ex.client.put(
        f"/v1/secrets/{name}", json={"value": value, "description": "a token"}, headers=auth(tenant)
    )
    assert answer.status_code in (200, 201), answer.text
    assert value not in answer.text
    body: dict[str, object] = answer.json()
    return body


async def resolve(
    ex: Execution, tenant: UUID, how: ToolAuth, box: SecretBox | None = None
) -> Credential:
    async with ex.deps.uow(tenant) as uow:
        return await credential_of(uow, box or ex.deps.secrets, how)


async def test_the_value_is_write_only_and_in_no_log_line(
    execution: Execution, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = uuid4()
    caplog.set_level(logging.DEBUG)
    created = await execution.client.put(
        "/v1/secrets/crm-token", json={"value": VALUE}, headers=auth(tenant)
    )
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    assert "value" not in created.json()
    replaced = await put(execution, tenant, "crm-token", VALUE + "-2")
    assert replaced["version"] == 2
    shown = await execution.client.get("/v1/secrets/crm-token", headers=auth(tenant))
    assert shown.status_code == 200
    assert VALUE not in shown.text
    assert set(shown.json()) == {
        "name",
        "description",
        "key_id",
        "version",
        "created_at",
        "updated_at",
    }
    credential = await resolve(execution, tenant, bearer("crm-token"))
    assert credential.value == VALUE + "-2"
    assert VALUE not in repr(credential)
    rows = await execution.owner_sql("SELECT value FROM secrets WHERE tenant_id = :t", t=tenant)
    assert VALUE.encode() not in bytes(rows[0][0])
    gone = await execution.client.delete("/v1/secrets/crm-token", headers=auth(tenant))
    assert gone.status_code == 204
    missing = await execution.client.get("/v1/secrets/crm-token", headers=auth(tenant))
    assert missing.status_code == 404
    assert not [r for r in caplog.records if VALUE in r.getMessage()]


async def test_another_tenants_secret_never_resolves(execution: Execution) -> None:
    owner, other = uuid4(), uuid4()
    await put(execution, owner, "shared-name")
    seen = await execution.client.get("/v1/secrets/shared-name", headers=auth(other))
    assert seen.status_code == 404
    with pytest.raises(ToolError) as refused:
        await resolve(execution, other, bearer("shared-name"))
    assert refused.value.code == "secret_not_found"
    deleted = await execution.client.delete("/v1/secrets/shared-name", headers=auth(other))
    assert deleted.status_code == 404
    assert (await resolve(execution, owner, bearer("shared-name"))).value == VALUE


async def test_a_blob_moved_to_another_name_or_tenant_fails_closed(execution: Execution) -> None:
    tenant, thief = uuid4(), uuid4()
    await put(execution, tenant, "real")
    await put(execution, tenant, "decoy", "decoy-value-123456")
    await put(execution, thief, "real", "thief-value-123456")
    # the sealed value copied under another name, and into another tenant's row
    for target_tenant, target_name in ((tenant, "decoy"), (thief, "real")):
        await execution.owner_sql(
            "UPDATE secrets SET value = (SELECT value FROM secrets WHERE tenant_id = :t "
            "AND name = 'real') WHERE tenant_id = :target AND name = :name",
            t=tenant,
            target=target_tenant,
            name=target_name,
        )
        with pytest.raises(ToolError) as refused:
            await resolve(execution, target_tenant, bearer(target_name))
        assert refused.value.code == "secret_unreadable"
        assert VALUE not in str(refused.value)
        assert VALUE not in str(refused.value.details)


async def test_a_wrong_key_fails_closed(execution: Execution) -> None:
    tenant = uuid4()
    await put(execution, tenant, "k")
    wrong = base64.b64encode(os.urandom(32)).decode()
    other = SecretBox(
        make_settings(
            "postgresql+asyncpg://u@localhost/x",
            "127.0.0.1:1",
            secret_keys={SECRET_KEY_ID: wrong},
            secret_key_id=SECRET_KEY_ID,
        )
    )
    with pytest.raises(ToolError) as refused:
        await resolve(execution, tenant, bearer("k"), other)
    assert refused.value.code == "secret_unreadable"


async def test_rotation_reseals_every_row_under_the_active_key(execution: Execution) -> None:
    tenant = uuid4()
    await put(execution, tenant, "old-one")
    rotated = SecretBox(
        make_settings(
            "postgresql+asyncpg://u@localhost/x",
            "127.0.0.1:1",
            secret_keys={
                SECRET_KEY_ID: SECRET_KEY,
                "test-k2": base64.b64encode(os.urandom(32)).decode(),
            },
            secret_key_id="test-k2",
        )
    )
    # before the move, the old row opens under the rotated box (its old key still listed)
    assert (await resolve(execution, tenant, bearer("old-one"), rotated)).value == VALUE
    assert await reencrypt(rotated, execution.deps.uow) >= 1
    rows = await execution.owner_sql(
        "SELECT key_id FROM secrets WHERE tenant_id = :t AND name = 'old-one'", t=tenant
    )
    assert rows[0][0] == "test-k2"
    assert (await resolve(execution, tenant, bearer("old-one"), rotated)).value == VALUE
    # the app, which knows only the old key, now fails closed on it
    with pytest.raises(ToolError):
        await resolve(execution, tenant, bearer("old-one"))
    shown = await execution.client.get("/v1/secrets/old-one", headers=auth(tenant))
    assert shown.json()["key_id"] == "test-k2"
    assert shown.json()["version"] == 1  # a re-seal is no new value


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("bad name!", {"value": VALUE}, "name"),
        ("ok", {"value": ""}, "value"),
        ("ok", {"value": "two\nlines"}, "value"),
        ("ok", {"value": "1234567"}, "value"),  # under the kit's minimum: guessable
        ("ok", {}, "value"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    execution: Execution, name: str, body: dict[str, str], field: str
) -> None:
    answer = await execution.client.put(f"/v1/secrets/{name}", json=body, headers=auth(uuid4()))
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert "two\nlines" not in answer.text


async def test_without_the_capability_a_secret_is_not_written(execution: Execution) -> None:
    readonly = [c for c in ALL_CAPS if c != "secrets:write"]
    answer = await execution.client.put(
        "/v1/secrets/x", json={"value": VALUE}, headers=auth(uuid4(), readonly)
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("name", ["Host", "Idempotency-Key", "X-Agentsuite-Step", "bad name"])
async def test_a_header_credential_may_not_take_a_header_execution_sets(
    execution: Execution, name: str
) -> None:
    tenant = uuid4()
    await put(execution, tenant, "hdr")
    how = ToolAuth(scheme=AuthScheme.HEADER, secret_name="hdr", name=name)
    with pytest.raises(ToolError) as refused:
        await resolve(execution, tenant, how)
    assert refused.value.code == "invalid_binding"
    assert VALUE not in refused.value.message

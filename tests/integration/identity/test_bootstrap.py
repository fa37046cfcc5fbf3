"""First start writes the platform operator's and each service's credential once, mode
0600; the operator's credential makes tenants; a restart writes nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from agentsuite_cli.provision import deprovision
from tests.integration.identity.harness import create_identity_db, make_settings, running


async def test_bootstrap_writes_each_credential_once_and_the_operator_makes_tenants(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    db = await create_identity_db(pg_admin_url, tmp_path / "pw.json")
    creds = tmp_path / "credentials"
    settings = make_settings(
        db.url(pg_admin_url),
        kafka_bootstrap,
        bootstrap_dir=creds,
        bootstrap_services=("identity", "catalog", "planning"),
    )
    try:
        async with running(settings, db, pg_admin_url) as identity:
            files = sorted(p.name for p in creds.iterdir())
            # identity needs no account of its own
            assert files == ["catalog.json", "planning.json", "platform-operator.json"]
            for path in creds.iterdir():
                assert path.stat().st_mode & 0o777 == 0o600
            operator = json.loads((creds / "platform-operator.json").read_text())
            assert operator["token_url"].endswith("/v1/token")

            got = await identity.client.post(
                "/v1/token",
                data={"grant_type": "client_credentials"},
                auth=(operator["client_id"], operator["client_secret"]),
            )
            assert got.status_code == 200, got.text
            token = got.json()["access_token"]
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["kind"] == "platform"
            assert "tid" not in claims

            made = await identity.client.post(
                "/v1/tenants",
                json={
                    "slug": "boot-acme",
                    "name": "Acme",
                    "admin": {
                        "email": "admin@acme.example",
                        "display_name": "Admin",
                        "password": "correct horse battery staple",
                    },
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert made.status_code == 201, made.text

            catalog = json.loads((creds / "catalog.json").read_text())
            got = await identity.client.post(
                "/v1/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": catalog["client_id"],
                    "client_secret": catalog["client_secret"],
                },
            )
            assert got.status_code == 200, got.text
            service = jwt.decode(got.json()["access_token"], options={"verify_signature": False})
            assert service["kind"] == "service"
            assert "tenants:write" not in service["caps"]
        before = {p.name: p.read_text() for p in creds.iterdir()}

        # a restart (or a second worker) finds the accounts and writes nothing
        async with running(settings, db, pg_admin_url):
            assert {p.name: p.read_text() for p in creds.iterdir()} == before
        rows = await identity.owner_sql(
            "SELECT name, count(*) FROM service_accounts WHERE tenant_id IS NULL GROUP BY name"
        )
        assert {name: n for name, n in rows} == {
            "platform-operator": 1,
            "catalog": 1,
            "planning": 1,
        }
    finally:
        await deprovision(pg_admin_url, [db])


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ="])
def test_a_malformed_key_encryption_key_fails_the_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="key_encryption_key"):
        make_settings("postgresql+asyncpg://x@127.0.0.1/x", "127.0.0.1:9", key_encryption_key=bad)

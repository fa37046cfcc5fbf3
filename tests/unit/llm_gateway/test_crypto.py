"""Provider credentials at rest: AES-256-GCM bound to (tenant, provider), and rotation."""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import pytest

from agentsuite_llm_gateway.crypto import Cipher, CredentialError
from agentsuite_llm_gateway.settings import GatewaySettings


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def settings(keys: dict[str, str], active: str) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": "postgresql+asyncpg://u:p@127.0.0.1/db",
        "kafka_bootstrap_servers": "127.0.0.1:9092",
        "credential_keys": keys,
        "credential_key_id": active,
    }
    return GatewaySettings(**values)


K1, K2 = _key(), _key()
T, P = uuid.uuid4(), uuid.uuid4()


def test_round_trip_under_the_active_key() -> None:
    cipher = Cipher(settings({"k1": K1}, "k1"))
    blob, kid = cipher.seal(T, P, "sk-secret-ü")
    assert kid == "k1"
    assert b"sk-secret" not in blob
    assert cipher.open(T, P, blob, kid) == "sk-secret-ü"


def test_each_seal_uses_a_fresh_nonce() -> None:
    cipher = Cipher(settings({"k1": K1}, "k1"))
    assert cipher.seal(T, P, "same")[0] != cipher.seal(T, P, "same")[0]


@pytest.mark.parametrize("moved", ["tenant", "provider"])
def test_a_blob_moved_to_another_row_does_not_open(moved: str) -> None:
    cipher = Cipher(settings({"k1": K1}, "k1"))
    blob, kid = cipher.seal(T, P, "sk-secret")
    tenant, provider = (uuid.uuid4(), P) if moved == "tenant" else (T, uuid.uuid4())
    with pytest.raises(CredentialError) as refused:
        cipher.open(tenant, provider, blob, kid)
    assert "sk-secret" not in str(refused.value)


def test_unknown_or_wrong_key_id_is_refused() -> None:
    cipher = Cipher(settings({"k1": K1, "k2": K2}, "k1"))
    blob, _ = cipher.seal(T, P, "sk-secret")
    with pytest.raises(CredentialError, match="not configured"):
        cipher.open(T, P, blob, "k9")
    with pytest.raises(CredentialError):
        cipher.open(T, P, blob, "k2")


@pytest.mark.parametrize("at", [0, 11, 12, -1])
def test_tampering_is_detected(at: int) -> None:
    cipher = Cipher(settings({"k1": K1}, "k1"))
    blob, kid = cipher.seal(T, P, "sk-secret")
    altered = bytearray(blob)
    altered[at] ^= 0x01
    with pytest.raises(CredentialError):
        cipher.open(T, P, bytes(altered), kid)
    with pytest.raises(CredentialError):
        cipher.open(T, P, blob[:20], kid)


def test_rotation_old_rows_still_open_and_are_stale() -> None:
    before = Cipher(settings({"k1": K1}, "k1"))
    blob, kid = before.seal(T, P, "sk-old")
    after = Cipher(settings({"k1": K1, "k2": K2}, "k2"))
    assert after.open(T, P, blob, kid) == "sk-old"
    assert after.stale(kid)
    assert not after.stale("k2")
    assert not after.stale(None)
    resealed, new_kid = after.seal(T, P, after.open(T, P, blob, kid))
    assert new_kid == "k2"
    assert Cipher(settings({"k2": K2}, "k2")).open(T, P, resealed, new_kid) == "sk-old"

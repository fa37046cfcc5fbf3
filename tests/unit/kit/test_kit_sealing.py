"""The kit's sealing: a round trip under the active key, a blob bound to its associated
data, an unknown or wrong key refused without quoting the secret, rotation, key checks."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import SecretStr

from agentsuite_kit.sealing import Sealer, SealError, check_keys


def key() -> SecretStr:
    return SecretStr(base64.b64encode(os.urandom(32)).decode())


K1, K2 = key(), key()


def test_round_trip_and_associated_data() -> None:
    sealer = Sealer({"k1": K1}, "k1")
    blob, kid = sealer.seal(b"t|a", "hunter2-secret")
    assert kid == "k1"
    assert b"hunter2" not in blob
    assert sealer.open(b"t|a", blob, kid, what="a") == "hunter2-secret"
    with pytest.raises(SealError) as moved:
        sealer.open(b"t|b", blob, kid, what="b")
    assert "hunter2" not in str(moved.value)


def test_unknown_or_wrong_key_and_rotation() -> None:
    old = Sealer({"k1": K1}, "k1")
    blob, kid = old.seal(b"x", "s3cret-value")
    with pytest.raises(SealError, match="not configured"):
        Sealer({"k2": K2}, "k2").open(b"x", blob, kid, what="x")
    with pytest.raises(SealError):
        Sealer({"k1": K2}, "k1").open(b"x", blob, kid, what="x")
    rotated = Sealer({"k1": K1, "k2": K2}, "k2")
    assert rotated.stale(kid)
    assert rotated.open(b"x", blob, kid, what="x") == "s3cret-value"
    again, new = rotated.seal(b"x", "s3cret-value")
    assert (new, rotated.stale(new)) == ("k2", False)
    assert rotated.open(b"x", again, new, what="x") == "s3cret-value"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "at least one key"),
        ({"k": SecretStr("not base64!")}, "not base64"),
        ({"k": SecretStr(base64.b64encode(b"short").decode())}, "32 bytes"),
    ],
)
def test_bad_keys_are_refused(keys: dict[str, SecretStr], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_keys("keys", keys)
    with pytest.raises(ValueError, match="not configured"):
        Sealer({"k1": K1}, "k9")

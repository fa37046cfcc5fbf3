"""API keys, pure: the key format, its hash, scope checks, effective capabilities, and
the per-key token bucket."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from agentsuite_identity.domain import api_keys as domain
from agentsuite_identity.domain.errors import Forbidden, Invalid
from agentsuite_identity.limits import KeyLimiter
from agentsuite_identity.settings import IdentitySettings


def test_generated_key_parses_back_and_hashes_its_secret() -> None:
    for _ in range(200):  # token_urlsafe often contains "_" itself
        new = domain.generate()
        parsed = domain.parse(new.token)
        assert parsed is not None
        prefix, secret = parsed
        assert prefix == new.prefix
        assert len(prefix) == 12
        assert prefix == prefix.lower()
        assert new.secret_hash == hashlib.sha256(secret.encode()).digest()
        assert domain.secret_matches(secret, new.secret_hash)
        assert not domain.secret_matches(secret + "x", new.secret_hash)


def test_unknown_prefix_never_matches() -> None:
    assert not domain.secret_matches("anything", None)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ask_",
        "ask_abc_" + "x" * 40,
        "ASK_" + "a" * 12 + "_" + "x" * 40,
        "ask_" + "A" * 12 + "_" + "x" * 40,
        "ask_" + "a" * 12 + "_short",
        "ask_" + "a" * 12 + "x" + "y" * 40,
        "eyJhbGciOi.x.y",
    ],
)
def test_malformed_keys_do_not_parse(token: str) -> None:
    assert domain.parse(token) is None


def test_unknown_scope_is_invalid_naming_its_index() -> None:
    with pytest.raises(Invalid) as caught:
        domain.check_scopes(["plans:read", "plans:fly"], ["*"])
    assert caught.value.field == "scopes[1]"


def test_scope_beyond_what_is_held_is_forbidden() -> None:
    domain.check_scopes(["plans:read", "plans:write"], ["plans:*"])
    domain.check_scopes([], [])
    for scopes in (["plans:*"], ["*"], ["users:read"]):
        with pytest.raises(Forbidden):
            domain.check_scopes(scopes, ["plans:read", "plans:write"])


def test_platform_capabilities_are_not_key_scopes() -> None:
    with pytest.raises(Invalid):
        domain.check_scopes(["tenants:write"], ["*"])


def test_effective_is_scopes_within_the_ceiling() -> None:
    assert domain.effective(["plans:*"], ["plans:read", "users:read"]) == ["plans:read"]
    assert domain.effective([], ["plans:read"]) == ["plans:read"]
    assert domain.effective(["users:read"], ["plans:read"]) == []
    # an org key never reaches what the org admin role lacks
    assert "tenant:write" not in domain.effective(["*"], domain.org_key_ceiling())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings() -> IdentitySettings:
    return IdentitySettings.model_validate(
        {"database_url": "postgresql+asyncpg://x@localhost/x", "key_encryption_key": "A" * 43 + "="}
    )


def test_bucket_allows_the_rate_then_answers_how_long_to_wait(settings: IdentitySettings) -> None:
    clock = Clock()
    limiter = KeyLimiter(settings, clock=clock)
    key = uuid.uuid4()
    assert [limiter.take(key, 6) for _ in range(6)] == [None] * 6
    assert limiter.take(key, 6) == 10  # one exchange refills every 10 s
    clock.now += 10
    assert limiter.take(key, 6) is None
    assert limiter.take(key, 6) is not None
    assert limiter.take(uuid.uuid4(), 6) is None  # buckets are per key
    assert all(limiter.take(key, None) is None for _ in range(100))


def test_bucket_refills_only_to_capacity(settings: IdentitySettings) -> None:
    clock = Clock()
    limiter = KeyLimiter(settings, clock=clock)
    key = uuid.uuid4()
    limiter.take(key, 2)
    clock.now += 3600
    assert [limiter.take(key, 2) for _ in range(3)] == [None, None, 30]


def test_buckets_are_bounded(settings: IdentitySettings) -> None:
    limiter = KeyLimiter(settings, clock=Clock(), max_keys=10)
    for _ in range(50):
        limiter.take(uuid.uuid4(), 1)
    assert len(limiter._buckets) == 10

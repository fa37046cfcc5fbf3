"""API keys, pure: the key format, its hash, scope checks, effective capabilities, and
the per-key rate's arithmetic."""

from __future__ import annotations

import hashlib

import pytest

from agentsuite_identity.domain import api_keys as domain
from agentsuite_identity.domain.errors import Forbidden, Invalid
from agentsuite_identity.limits import Rate, retry_after


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


def test_rate_bursts_the_limit_and_refills_one_interval_at_a_time() -> None:
    rate = Rate.per_minute(6)
    assert rate.interval == 10  # one exchange refills every 10 s
    assert rate.tolerance == 50  # the TAT may run 5 intervals ahead: a burst of 6
    assert Rate.per_minute(1).tolerance == 0
    # the 7th exchange of a burst finds the TAT 60 s ahead: 10 s to wait
    assert retry_after(60.0, rate) == 10
    assert retry_after(50.2, rate) == 1

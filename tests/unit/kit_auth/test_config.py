from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentsuite_kit.auth import JwtConfig

pytestmark = pytest.mark.unit


def config(**overrides: object) -> JwtConfig:
    return JwtConfig.model_validate(
        {"jwks_url": "http://idp/jwks", "issuer": "idp", "audience": "api", **overrides}
    )


def test_defaults_are_asymmetric_and_pinned() -> None:
    cfg = config()
    # Ed25519 (RFC 9864) and, until issuers' old keys age out, its deprecated name EdDSA
    assert cfg.algorithms == ("RS256", "ES256", "Ed25519", "EdDSA")
    assert cfg.leeway == 30
    assert cfg.min_refresh_interval == 30
    assert set(cfg.required_claims) >= {"exp", "iat", "sub", "iss", "aud"}


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RS257"])
def test_symmetric_or_unknown_algorithms_are_refused(alg: str) -> None:
    with pytest.raises(ValidationError, match="asymmetric"):
        config(algorithms=("RS256", alg))


def test_empty_algorithms_are_refused() -> None:
    with pytest.raises(ValidationError):
        config(algorithms=())


def test_refresh_defaults_keep_keys_fresh_well_within_staleness() -> None:
    cfg = config()
    assert cfg.refresh_interval < cfg.max_staleness
    assert 0 < cfg.refresh_wait <= cfg.timeout
    assert cfg.token_types == ("at+jwt",)


def test_max_staleness_must_exceed_the_refresh_interval() -> None:
    with pytest.raises(ValidationError, match="max_staleness"):
        config(refresh_interval=600, max_staleness=600)


def test_token_types_are_normalised_and_required() -> None:
    assert config(token_types=("AT+JWT", "application/JWT")).token_types == ("at+jwt", "jwt")
    with pytest.raises(ValidationError, match="token_types"):
        config(token_types=())

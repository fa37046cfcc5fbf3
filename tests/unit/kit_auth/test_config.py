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
    assert cfg.algorithms == ("RS256", "ES256", "EdDSA")
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

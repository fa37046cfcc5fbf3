"""Local JWT verification against the identity service's JWKS, and capability checks."""

from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.jwks import JwksKeySet, JwtConfig
from agentsuite_kit.auth.principal import Principal, PrincipalKind, capability_matches

__all__ = [
    "AuthCode",
    "AuthError",
    "JwksKeySet",
    "JwtConfig",
    "Principal",
    "PrincipalKind",
    "capability_matches",
]

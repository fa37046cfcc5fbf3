"""Local JWT verification against the identity service's JWKS, and capability checks."""

from agentsuite_kit.auth.apikeys import ApiKeyExchanger, KeyOrJwt
from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.jwks import JwksKeySet, JwtConfig
from agentsuite_kit.auth.principal import Principal, PrincipalKind, capability_matches

__all__ = [
    "ApiKeyExchanger",
    "AuthCode",
    "AuthError",
    "JwksKeySet",
    "JwtConfig",
    "KeyOrJwt",
    "Principal",
    "PrincipalKind",
    "capability_matches",
]
